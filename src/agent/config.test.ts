import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AgentConfigError, buildAgentConfig, loadAgentConfigFile } from "./config.js";

const dir = mkdtempSync(join(tmpdir(), "agent-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const minimal = (extra: Record<string, unknown> = {}) => ({
  broker: { url: "http://127.0.0.1:8720" },
  auth: { type: "oidc-file", path: "/var/run/secrets/ephemera/token" },
  credentials: { db: { entitlement: "orders-db/read", sink: { path: join(dir, "db.env") } } },
  ...extra,
});

function problemsOf(raw: unknown, env: NodeJS.ProcessEnv = {}): readonly string[] {
  try {
    buildAgentConfig(raw, "test", env, dir);
  } catch (error) {
    if (error instanceof AgentConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("agent configuration", () => {
  it("fills every default and freezes the result", () => {
    const config = buildAgentConfig(minimal(), "test", {}, dir);
    expect(config.renewal).toEqual({ graceMs: 30_000, jitter: 0.1, retryInitialMs: 1_000, retryMaxMs: 30_000 });
    expect(config.shutdown).toEqual({ timeoutMs: 10_000, removeSinks: true });
    expect(config.credentials[0]?.sink).toMatchObject({ format: "env", mode: 0o600, uid: null, template: null });
    expect(config.credentials[0]?.approvalTimeoutMs).toBe(15 * 60_000);
    expect(config.health).toBeNull();
    expect(Object.isFrozen(config.credentials[0]?.sink)).toBe(true);
  });

  it("talks to the broker over https, or plain http only to this host, and never with a password in the URL", () => {
    const url = (value: string) => problemsOf(minimal({ broker: { url: value } }));
    expect(url("https://ephemera.example.com/")).toEqual([]);
    expect(url("http://127.0.0.1:8720")).toEqual([]);
    expect(url("http://[::1]:8720")).toEqual([]);
    expect(url("http://127.0.0.1.attacker.example")).toEqual([
      "broker.url: must be https (plain http only to a broker on this host: 127.0.0.1, ::1, localhost)",
    ]);
    expect(url("http://127.evil.example:8720")).toHaveLength(1);
    expect(url("http://ephemera.internal:8720")).toEqual([
      "broker.url: must be https (plain http only to a broker on this host: 127.0.0.1, ::1, localhost)",
    ]);
    expect(url("https://user:pw@ephemera.example.com")).toEqual(["broker.url: must not carry a user or password"]);
    expect(buildAgentConfig(minimal({ broker: { url: "https://b.example/?x=1#y" } }), "t", {}, dir).broker.url).toBe(
      "https://b.example",
    );
  });

  it("names the path of every schema problem", () => {
    const problems = problemsOf({
      broker: { url: "ftp://x", extra: 1 },
      auth: { type: "kerberos" },
      credentials: { BAD: { entitlement: "x", sink: { path: "/tmp/x" } } },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^broker\.url: /),
        "broker: unknown option 'extra'",
        expect.stringMatching(/^auth\.type: /),
        expect.stringMatching(/^credentials\.BAD/),
      ]),
    );
  });

  it("checks each auth type's own keys, durations, templates and sink paths", () => {
    const problems = problemsOf(
      minimal({
        auth: { type: "github-actions", path: "/x" },
        renewal: { grace: "soon", retryInitial: "2s", retryMax: "1s" },
        credentials: {
          a: { entitlement: "t/e", sink: { path: join(dir, "a"), format: "template", template: "{{#x}}" } },
          b: { entitlement: "t/e", sink: { path: join(dir, "a"), format: "json", template: "{{x}}" } },
          c: { entitlement: "t/e", duration: "later", sink: { path: join(dir, "missing", "c") } },
        },
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        "auth.path: not an option of auth type github-actions",
        "auth.audience: required for auth type github-actions",
        "renewal.grace: not a duration (e.g. 30s, 15m, 1h)",
        "renewal.retryMax: must be at least retryInitial",
        expect.stringMatching(/^credentials\.a\.sink\.template: template: /),
        "credentials.b.sink.path: the same file as credentials.a.sink.path",
        "credentials.b.sink: template and templateFile need format: template",
        "credentials.c.duration: not a duration (e.g. 30s, 15m, 1h)",
        expect.stringMatching(/^credentials\.c\.sink\.path: the directory .* does not exist$/),
      ]),
    );
  });

  it("an API key comes from a variable that must be set, never inline; its value is never in an error", () => {
    const raw = minimal({ auth: { type: "api-key", key: { env: "AGENT_KEY" } } });
    expect(problemsOf(raw)).toEqual(["auth.key.env: the variable AGENT_KEY is not set"]);
    expect(problemsOf(raw, { AGENT_KEY: "ephk_secret" })).toEqual([]);
    expect(problemsOf(minimal({ auth: { type: "api-key", key: "ephk_inline" } })).join("\n")).not.toContain(
      "ephk_inline",
    );
  });

  it("reads a file, resolving relative sink and template paths against the file's directory", () => {
    writeFileSync(join(dir, "tpl.mustache"), "user={{fields.username}}\n");
    writeFileSync(
      join(dir, "agent.yaml"),
      [
        "broker: { url: 'http://127.0.0.1:8720', timeout: 5s }",
        "auth: { type: gitlab-ci, variable: ID_TOKEN }",
        "credentials:",
        "  db:",
        "    entitlement: orders-db/read",
        "    sink: { path: ./db.conf, format: template, templateFile: tpl.mustache, mode: '0640' }",
        "    onChange: { signal: SIGHUP, command: [systemctl, reload, app] }",
        "health: { listen: '127.0.0.1:8721' }",
      ].join("\n"),
    );
    const config = loadAgentConfigFile(join(dir, "agent.yaml"), { ID_TOKEN: "x" }, "/");
    expect(config.credentials[0]?.sink).toMatchObject({
      path: join(dir, "db.conf"),
      template: "user={{fields.username}}\n",
      mode: 0o640,
    });
    expect(config.credentials[0]?.onChange).toEqual({ signal: "SIGHUP", command: ["systemctl", "reload", "app"] });
    expect(config.health).toEqual({ host: "127.0.0.1", port: 8721 });
    expect(config.broker.timeoutMs).toBe(5_000);
    expect(() => loadAgentConfigFile(join(dir, "absent.yaml"))).toThrow(/cannot read the file: ENOENT/);
  });
});
