// `ephemera mcp` settings: defaults, the agent's identity from file or environment, and errors that name the key.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkListen, loadMcpConfig, McpConfigError } from "./config.js";

const dir = mkdtempSync(join(tmpdir(), "ephemera-mcp-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(yaml: string | null, env: Record<string, string> = { EPHEMERA_TOKEN: "ephk_test" }) {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  if (yaml !== null) writeFileSync(file, yaml);
  return loadMcpConfig({ ...(yaml === null ? {} : { file }), env, defaultSinkDir: () => join(dir, "default") });
}

describe("mcp config", () => {
  it("defaults: EPHEMERA_URL/TOKEN, a private sink folder, nothing revealed, caps on", () => {
    const config = load(null, { EPHEMERA_TOKEN: "ephk_test", EPHEMERA_URL: "http://127.0.0.1:9" });
    expect(config.broker).toEqual({
      url: "http://127.0.0.1:9",
      auth: { kind: "token", value: "ephk_test" },
      dpop: null,
    });
    expect(config.sinks).toEqual({ dir: join(dir, "default"), format: "env" });
    expect(config.entitlements).toEqual({});
    expect(config.limits).toEqual({
      concurrentGrants: 5,
      requestsPerMinute: 30,
      maxSessions: 16,
      totalConcurrentGrants: 20,
      totalRequestsPerMinute: 120,
    });
    expect(config.waitMs).toBe(20_000);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("reads per-entitlement sinks and reveal, resolving paths from the file's folder", () => {
    const config = load(
      [
        "broker: { url: 'http://127.0.0.1:9', auth: { tokenFile: token.jwt } }",
        "entitlements:",
        "  orders/read: { sink: { path: orders.env }, reveal: true }",
        "  orders/write:",
        "wait: 2s",
      ].join("\n"),
    );
    expect(config.broker.auth).toEqual({ kind: "tokenFile", path: join(dir, "token.jwt") });
    expect(config.entitlements["orders/read"]).toEqual({
      sink: { path: join(dir, "orders.env"), format: "env" },
      reveal: true,
    });
    expect(config.entitlements["orders/write"]).toEqual({ sink: null, reveal: false });
    expect(config.waitMs).toBe(2_000);
  });

  it.each([
    ["limits: { concurrentGrants: 0 }", /^limits\.concurrentGrants: /],
    ["limits: { maxSessions: 0 }", /^limits\.maxSessions: /],
    ["limits: { totalConcurrentGrants: 0 }", /^limits\.totalConcurrentGrants: /],
    ["limits: { totalRequestsPerMinute: 0 }", /^limits\.totalRequestsPerMinute: /],
    ["wait: soon", /^wait: a duration/],
    ["entitlements: { orders: {} }", /^entitlements\.orders: entitlement names are target\/name/],
    ["entitlements: { orders/read: { reveal: yes-please } }", /^entitlements\.orders\/read\.reveal: /],
    ["entitlements: { orders/read: { sink: { path: x, format: template } } }", /needs a template/],
    ["entitlements: { orders/read: { sink: { path: x, format: template, template: '{{#a}}' } } }", /template: /],
    ["broker: { auth: { apiKeyFile: a, tokenFile: b } }", /^broker\.auth: give one of/],
    ["broker: { auth: { tokenFile: b, agentConfig: a.yaml } }", /^broker\.auth: give one of/],
    ["surprise: true", /surprise/],
  ])("%s → names the key", (yaml, message) => {
    expect(() => load(yaml)).toThrow(McpConfigError);
    expect(() => load(yaml)).toThrow(message);
  });

  describe("an ephemera agent configuration as the identity", () => {
    const CREDENTIALS = "credentials: { unused: { entitlement: demo-api/read, sink: { path: unused.env } } }";
    const agentYaml = (extra: string[] = []) => {
      const file = join(dir, `agent-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(
        file,
        [
          "broker: { url: 'http://127.0.0.1:10' }",
          "auth: { type: oidc-file, path: agent.jwt }",
          CREDENTIALS,
          ...extra,
        ].join("\n"),
      );
      return file;
    };
    const withFlag = (agentConfig: string, more: { url?: string; token?: string } = {}) =>
      loadMcpConfig({ agentConfig, env: {}, defaultSinkDir: () => join(dir, "default"), ...more });

    it("uses the agent's auth source, broker URL and DPoP key, paths resolved from the agent file's folder", () => {
      const file = agentYaml(["dpop: { keyFile: dpop.jwk, create: true }"]);
      expect(withFlag(file).broker).toEqual({
        url: "http://127.0.0.1:10",
        auth: { kind: "agentConfig", file, source: { type: "oidc-file", path: join(dir, "agent.jwt") } },
        dpop: { keyFile: join(dir, "dpop.jwk"), create: true },
      });
    });

    it("broker.auth.agentConfig in the MCP file, relative to it; MCP's own URL wins, then the agent's, then EPHEMERA_URL", () => {
      const file = agentYaml();
      const name = file.slice(dir.length + 1);
      const fromFile = load(`broker: { auth: { agentConfig: ${name} } }`, { EPHEMERA_URL: "http://127.0.0.1:11" });
      expect(fromFile.broker.auth).toMatchObject({ kind: "agentConfig", file });
      expect(fromFile.broker.url).toBe("http://127.0.0.1:10");
      expect(fromFile.broker.dpop).toBeNull();
      const own = load(`broker: { url: 'http://127.0.0.1:12', auth: { agentConfig: ${name} } }`, {});
      expect(own.broker.url).toBe("http://127.0.0.1:12");
      expect(withFlag(file, { url: "http://127.0.0.1:13" }).broker.url).toBe("http://127.0.0.1:13");
    });

    it("an unreadable or invalid agent configuration is refused, naming the flag or key, the file and the problem", () => {
      const missing = join(dir, "no-such-agent.yaml");
      expect(() => withFlag(missing)).toThrow(McpConfigError);
      expect(() => withFlag(missing)).toThrow(`--agent-config: invalid agent configuration in ${missing}`);
      expect(() => withFlag(missing)).toThrow(/cannot read the file: ENOENT/);
      const invalid = join(dir, "invalid-agent.yaml");
      writeFileSync(invalid, `broker: { url: 'http://127.0.0.1:10' }\nauth: { type: oidc-file }\n${CREDENTIALS}\n`);
      expect(() => load("broker: { auth: { agentConfig: invalid-agent.yaml } }", {})).toThrow(
        /^broker\.auth\.agentConfig: invalid agent configuration in .*invalid-agent\.yaml:\n\s+auth\.path: required for auth type oidc-file/,
      );
      expect(() => withFlag(invalid)).toThrow(/auth\.path: required for auth type oidc-file/);
    });

    it("--agent-config and --token together are refused rather than one silently ignored", () => {
      expect(() => withFlag(agentYaml(), { token: "ephk_test" })).toThrow(/^--agent-config: give either it or --token/);
    });
  });

  it("without any identity it refuses to start, and says how to give one", () => {
    expect(() => load(null, {})).toThrow(/no workload identity/);
  });

  describe("an HTTP listen address that is not loopback needs a bearer token", () => {
    const open = load(null);
    const guarded = load("http: { bearerTokenFile: ./bearer }");

    it.each(["127.0.0.1", "127.9.8.7", "::1", "localhost", "LOCALHOST"])("%s without a bearer: allowed", (host) => {
      expect(() => checkListen(host, open)).not.toThrow();
    });

    it.each(["0.0.0.0", "::", "10.0.0.5", "192.168.1.20", "fe80::1", "example.com", "127.0.0.1.example.com"])(
      "%s without a bearer: refused, naming the setting",
      (host) => {
        expect(() => checkListen(host, open)).toThrow(McpConfigError);
        expect(() => checkListen(host, open)).toThrow(/http\.bearerTokenFile/);
        expect(() => checkListen(host, guarded)).not.toThrow();
      },
    );
  });
});
