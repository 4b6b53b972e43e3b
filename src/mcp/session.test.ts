import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { BrokerAccess } from "./broker-auth.js";
import type { McpConfig } from "./config.js";
import { ServerLimits } from "./server-limits.js";
import { AccessSession } from "./session.js";
import { SinkOwners } from "./sink-owners.js";

const SECRET = "s3cret-password";

function configWith(dir: string, changes: Partial<McpConfig> = {}): McpConfig {
  return {
    broker: { url: "http://127.0.0.1:9", auth: { kind: "token", value: "t" }, dpop: null },
    sinks: { dir, format: "env" },
    entitlements: {},
    onlyListed: false,
    limits: {
      concurrentGrants: 5,
      requestsPerMinute: 30,
      maxSessions: 1,
      totalConcurrentGrants: 20,
      totalRequestsPerMinute: 120,
    },
    waitMs: 0,
    shutdownTimeoutMs: 2000,
    http: { sessionIdleTimeoutMs: 60_000, bearerTokenFile: null },
    ...changes,
  };
}

/** A broker that grants every request at once and remembers what it was asked to complete. */
function fakeBroker() {
  const requested: string[] = [];
  const completed: string[] = [];
  const client = {
    async request(input: { entitlement: string }) {
      requested.push(input.entitlement);
      const [target] = input.entitlement.split("/");
      return {
        request: { id: `req_${requested.length}`, state: "approved", intent: null },
        grant: { id: `grt_${requested.length}`, entitlement: input.entitlement, target, expiresAt: null },
        credential: { fields: { password: SECRET }, env: { PGPASSWORD: SECRET } },
      };
    },
    async complete(grantId: string) {
      completed.push(grantId);
      return { id: grantId, state: "verified", removed: true };
    },
  };
  const broker = { url: "http://127.0.0.1:9", client: async () => client } as unknown as BrokerAccess;
  return { broker, requested, completed };
}

function sessionOf(config: McpConfig, broker: BrokerAccess): AccessSession {
  const shared = { limits: new ServerLimits(config.limits), sinks: new SinkOwners() };
  return new AccessSession(config, broker, () => undefined, shared);
}

const call = { client: null, toolCallId: "call-1" };
const ask = { entitlement: "orders/read" };

async function refusal(pending: Promise<unknown>): Promise<{ code: string; message: string }> {
  return pending.then(
    () => {
      throw new Error("expected a refusal");
    },
    (error: { code: string; message: string }) => error,
  );
}

describe("AccessSession", () => {
  it("with onlyListed, an entitlement not listed is not_offered and never reaches the broker", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcp-session-"));
    const { broker, requested } = fakeBroker();
    const session = sessionOf(configWith(dir, { onlyListed: true }), broker);
    expect((await refusal(session.requestAccess(ask, call))).code).toBe("not_offered");
    expect(requested).toEqual([]);
    expect(session.outstanding).toBe(0);
  });

  it("a credential that cannot be written is sink_failed, its grant is completed at once, and the error holds no secret", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcp-session-"));
    const { broker, completed } = fakeBroker();
    // A folder under a regular file cannot be made.
    writeFileSync(join(dir, "not-a-folder"), "");
    const session = sessionOf(configWith(join(dir, "not-a-folder", "x")), broker);
    const refused = await refusal(session.requestAccess(ask, call));
    expect(refused.code).toBe("sink_failed");
    expect(refused.message).not.toContain(SECRET);
    expect(completed).toEqual(["grt_1"]);
    expect(session.outstanding).toBe(0);
  });

  it("ending the session completes its grants, removes their sinks and refuses further asks", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcp-session-"));
    const { broker, completed } = fakeBroker();
    const session = sessionOf(configWith(dir), broker);
    const granted = await session.requestAccess(ask, call);
    expect(JSON.stringify(granted)).not.toContain(SECRET);
    const path = (granted.data.sink as { path: string }).path;
    expect(readFileSync(path, "utf8")).toContain(SECRET);

    expect(await session.close()).toEqual({ completed: 1, verified: 1, failed: [], cancelled: 0 });
    expect(completed).toEqual(["grt_1"]);
    expect(() => readFileSync(path)).toThrow(/ENOENT/);
    expect((await refusal(session.requestAccess(ask, call))).code).toBe("session_closing");
  });
});
