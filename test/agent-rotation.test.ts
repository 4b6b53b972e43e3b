// `ephemera agent` keeping PostgreSQL, Redis and token credentials for a long-running app across rotations: the app
// (a real process querying every 50 ms, reconnecting on SIGHUP) never fails an operation, each replaced grant is
// removed and verified within grace + 2 s of its replacement, the audit trail names the agent and the rotation, old
// tokens introspect inactive, and no secret reaches the agent's log.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAgentConfig, type RunningAgent, startAgent } from "../src/agent/index.js";
import type { Grant } from "../src/client/index.js";
import { type AgentBroker, agentServicesUp, auditEvents, pgQuery, startAgentBroker } from "./support/agent-broker.js";
import { redisCommand } from "./support/redis.js";

const APP = resolve(fileURLToPath(new URL("./fixtures/agent-app.mjs", import.meta.url)));
const GRACE_MS = 1_000;
const ROTATIONS = 3;

const up = await agentServicesUp();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!up)("agent rotation under a live app", () => {
  let env: AgentBroker;
  let agent: RunningAgent;
  const logs: string[] = [];
  /** Token sink contents seen while polling: grant id → tokens, and when each grant id first appeared. */
  const tokens = new Map<string, Set<string>>();
  const firstSeen = new Map<string, number>();
  let exitCode = -1;
  let report: { ops: number; failed: number; errors: string[]; hups: number; users: { pg: string[]; redis: string[] } };
  let replacedEarly: { grantId: string; tokens: string[] }[] = [];
  let currentToken = "";

  beforeAll(async () => {
    env = await startAgentBroker({ maxDuration: "4s" });
    const dir = env.dir;
    const config = buildAgentConfig(
      {
        broker: { url: env.url },
        auth: { type: "api-key", key: { env: "AGENT_KEY" } },
        credentials: {
          orders: {
            entitlement: "orders/read",
            intent: "orders reporting service",
            sink: { path: join(dir, "pg.json"), format: "json" },
            onChange: { signal: "SIGHUP" },
          },
          cache: {
            entitlement: "cache/rw",
            sink: {
              path: join(dir, "redis.json"),
              format: "template",
              template:
                '{"host":"{{fields.host}}","port":"{{fields.port}}","username":"{{fields.username}}","password":"{{fields.password}}"}',
            },
            onChange: { signal: "SIGHUP" },
          },
          api: {
            entitlement: "demo-api/read",
            duration: "2s",
            sink: { path: join(dir, "api.env") },
            // Appends a line per change, with the environment it was given.
            onChange: {
              command: [
                process.execPath,
                "-e",
                `require("node:fs").appendFileSync(${JSON.stringify(join(dir, "hooks"))}, (process.env.AGENT_KEY ?? "-") + "\\n")`,
              ],
            },
          },
        },
        renewal: { grace: `${GRACE_MS}ms`, jitter: 0, retryInitial: "200ms", retryMax: "1s" },
        health: { listen: "127.0.0.1:0" },
      },
      "agent-rotation.test",
      { AGENT_KEY: env.keys.agent },
    );
    const destination = new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    });
    agent = await startAgent(config, {
      env: {
        PATH: process.env.PATH,
        AGENT_KEY: env.keys.agent,
        EPHEMERA_URL: env.url,
        APP_KEY_PREFIX: env.prefix,
      },
      signals: { on: () => undefined, off: () => undefined },
      logger: pino({ level: "debug" }, destination),
      command: {
        file: process.execPath,
        args: [APP, join(dir, "pg.json"), join(dir, "redis.json"), join(dir, "report")],
      },
    });

    // Watch the token sink and the rotation counters until every credential has rotated ROTATIONS times (bounded).
    const apiSink = join(dir, "api.env");
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (existsSync(apiSink)) {
        const text = readFileSync(apiSink, "utf8");
        const grant = /^EPHEMERA_GRANT_ID='([^']+)'/m.exec(text)?.[1];
        const token = /^EPHEMERA_ACCESS_TOKEN='([^']+)'/m.exec(text)?.[1];
        if (grant && token) {
          if (!tokens.has(grant)) {
            tokens.set(grant, new Set());
            firstSeen.set(grant, Date.now());
          }
          tokens.get(grant)?.add(token);
          currentToken = token;
        }
      }
      const metrics = await fetch(`http://127.0.0.1:${agent.healthPort}/metrics`).then(
        (r) => r.text(),
        (error: unknown) => {
          throw new Error(`the agent stopped (${String(error)}):\n${logs.join("")}`);
        },
      );
      const rotated = (name: string) =>
        Number(new RegExp(`ephemera_agent_rotations_total\\{credential="${name}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
      if (["orders", "cache", "api"].every((n) => rotated(n) >= ROTATIONS)) break;
      if (Date.now() > deadline) throw new Error(`not enough rotations in 30 s:\n${metrics}\n${logs.join("")}`);
      await sleep(100);
    }
    // Tokens of grants replaced longer than grace + 2 s ago, checked while the agent still runs.
    const ids = [...firstSeen.keys()];
    replacedEarly = ids
      .slice(0, -1)
      .filter((_, i) => (firstSeen.get(ids[i + 1] as string) ?? Date.now()) < Date.now() - GRACE_MS - 2_000)
      .map((grantId) => ({ grantId, tokens: [...(tokens.get(grantId) ?? [])] }));
    exitCode = await agent.stop();
    report = JSON.parse(readFileSync(join(dir, "report"), "utf8"));
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await env?.close();
  });

  it("the app never failed a query or command across the rotations, and used each new login", () => {
    expect(report.errors).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.ops).toBeGreaterThan(50);
    // Two sinks changing at once send two SIGHUPs the kernel may deliver as one (standard signals do not queue): at
    // least one per rotation round; that the app moved to every new login is what the next lines check.
    expect(report.hups).toBeGreaterThanOrEqual(ROTATIONS);
    expect(new Set(report.users.pg).size).toBeGreaterThanOrEqual(ROTATIONS + 1);
    expect(new Set(report.users.redis).size).toBeGreaterThanOrEqual(ROTATIONS + 1);
    expect(exitCode).toBe(0);
  });

  it.each(["orders", "cache", "demo-api"])(
    "%s: every replaced grant was removed and verified within grace + 2 s of its replacement",
    async (target) => {
      const grants = [...(await env.admin.listGrants({ target, identity: "svc-agent", limit: 100 })).grants].sort(
        (a, b) => Date.parse(a.issuedAt ?? "") - Date.parse(b.issuedAt ?? ""),
      );
      expect(grants.length).toBeGreaterThanOrEqual(ROTATIONS + 1);
      for (const grant of grants) expect([grant.id, grant.state, grant.removed]).toEqual([grant.id, "verified", true]);
      for (let i = 0; i + 1 < grants.length; i++) {
        const old = grants[i] as Grant;
        const replacement = grants[i + 1] as Grant;
        const lag = Date.parse(old.verifiedAt ?? "") - Date.parse(replacement.issuedAt ?? "");
        expect(lag, `${old.id} verified ${lag} ms after its replacement`).toBeLessThanOrEqual(GRACE_MS + 2_000);
        expect(old.endReason).toBe("completed");
      }
    },
  );

  it("the audit trail names the agent's identity on every grant and the rotation on every replacement", async () => {
    const events = await auditEvents(env);
    const grants = (await env.admin.listGrants({ target: "orders", identity: "svc-agent", limit: 100 })).grants;
    const byGrant = (id: string) => events.filter((e) => e.grantId === id);
    for (const grant of grants) {
      const own = byGrant(grant.id);
      expect(own.map((e) => e.code)).toEqual(expect.arrayContaining(["grant.issued", "grant.verified"]));
      expect(own.find((e) => e.code === "grant.issued")?.identityId).toBe("svc-agent");
    }
    const rotations = events.filter(
      (e) =>
        e.code === "request.approved" &&
        e.identityId === "svc-agent" &&
        JSON.stringify(e.data.intent ?? "").includes("orders reporting service; rotation replacing grant"),
    );
    expect(rotations.length).toBeGreaterThanOrEqual(ROTATIONS);
  });

  it("tokens of replaced grants introspect inactive; PostgreSQL roles and Redis users are gone", async () => {
    expect(replacedEarly.length).toBeGreaterThanOrEqual(1);
    for (const { tokens: old } of replacedEarly) {
      for (const token of old) expect((await env.admin.introspect(token)).active).toBe(false);
    }
    expect((await env.admin.introspect(currentToken)).active).toBe(false); // ended at shutdown
    const roles = await pgQuery("SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", [env.prefix]);
    expect(roles).toEqual([]);
    const users = ((await redisCommand("ACL", "USERS")) as string[]).filter(
      (u) => u.startsWith(env.prefix) && u !== `${env.prefix}broker`,
    );
    expect(users).toEqual([]);
  });

  it("the onChange command ran after each change of the token sink, without the agent's key", () => {
    const lines = readFileSync(join(env.dir, "hooks"), "utf8").trim().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(ROTATIONS);
    expect(new Set(lines)).toEqual(new Set(["-"]));
  });

  it("no password or token appears in the agent's log", () => {
    const text = logs.join("");
    expect(text).toContain("rotated");
    const secrets = [...tokens.values()].flatMap((set) => [...set]);
    expect(secrets.length).toBeGreaterThan(ROTATIONS);
    for (const secret of secrets) expect(text).not.toContain(secret.split(".")[2]);
    expect(text).not.toContain(env.keys.agent);
    expect(text).not.toMatch(/"(PGPASSWORD|REDIS_PASSWORD|password)"\s*:/);
  });
});
