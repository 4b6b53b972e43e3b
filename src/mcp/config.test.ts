// `ephemera mcp` settings: defaults, the agent's identity from file or environment, and errors that name the key.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadMcpConfig, McpConfigError } from "./config.js";

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
    expect(config.broker).toEqual({ url: "http://127.0.0.1:9", auth: { kind: "token", value: "ephk_test" } });
    expect(config.sinks).toEqual({ dir: join(dir, "default"), format: "env" });
    expect(config.entitlements).toEqual({});
    expect(config.limits).toEqual({ concurrentGrants: 5, requestsPerMinute: 30 });
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
    ["wait: soon", /^wait: a duration/],
    ["entitlements: { orders: {} }", /^entitlements\.orders: entitlement names are target\/name/],
    ["entitlements: { orders/read: { reveal: yes-please } }", /^entitlements\.orders\/read\.reveal: /],
    ["entitlements: { orders/read: { sink: { path: x, format: template } } }", /needs a template/],
    ["entitlements: { orders/read: { sink: { path: x, format: template, template: '{{#a}}' } } }", /template: /],
    ["broker: { auth: { apiKeyFile: a, tokenFile: b } }", /^broker\.auth: give one of/],
    ["surprise: true", /surprise/],
  ])("%s → names the key", (yaml, message) => {
    expect(() => load(yaml)).toThrow(McpConfigError);
    expect(() => load(yaml)).toThrow(message);
  });

  it("without any identity it refuses to start, and says how to give one", () => {
    expect(() => load(null, {})).toThrow(/no workload identity/);
  });
});
