// Canary secrets: every password and token the broker issues in 1,000+ credentials (token target, plus real PostgreSQL
// and Redis logins) is searched for in every sink the broker writes — its log (pino at debug), the audit log as the
// API serves it and as `audit export` writes it (JSONL and OCSF), the signed checkpoint files, every error reply, /metrics, the grant views, and the bytes of its store files — after the
// credentials lived their whole lifecycle (used, renewed, completed, revoked, expired, offboarded, misused): 0 hits.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { LightMyRequestResponse } from "fastify";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportRecord } from "../src/audit/export.js";
import { buildConfig } from "../src/config/load.js";
import { requireService } from "../src/connectors/testing/services.js";
import { generateApiKey } from "../src/identity/api-keys.js";
import { type Broker, startBroker } from "../src/main.js";
import { ManualClock } from "../src/support/clock.js";
import { randomToken } from "../src/support/ids.js";
import { createLogger } from "../src/support/logger.js";
import { testConfigDocument } from "./support/broker.js";
import { createRedisBrokerUser, redisAnswers, redisCommand } from "./support/redis.js";

const TOKENS = 1000;
const REAL_EACH = 4;

const pgUp = await requireService("postgres on 127.0.0.1:5432", async () => {
  const c = new pg.Client({ host: "127.0.0.1", port: 5432, user: "postgres", database: "test" });
  await c.connect();
  await c.end();
  return true;
});
const redisUp = await requireService("redis on 127.0.0.1:6379", redisAnswers);

async function sql(text: string): Promise<void> {
  const c = new pg.Client({ host: "127.0.0.1", port: 5432, user: "postgres", database: "test" });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

/** Every file under `dir`, as bytes read as latin1 so any ASCII secret inside shows as itself. */
function filesUnder(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push({ path, text: readFileSync(path).toString("latin1") });
  }
  return out;
}

describe.skipIf(!pgUp || !redisUp)("canary secrets", () => {
  const suffix = randomToken(6);
  const prefix = `eph_c${suffix}_`;
  const pgRole = `eph_canary_${suffix}`;
  const dataDir = mkdtempSync(join(tmpdir(), "ephemera-canary-"));
  const clock = new ManualClock(Date.now());
  const logs: string[] = [];
  /** Bodies of every reply that was not a success: the error sink. */
  const errorReplies: string[] = [];
  /** Bodies of the replies that hand a credential out: where the secrets must be, proving the search finds them. */
  const issueReplies: string[] = [];
  /** The canaries: every secret issued, and for tokens also their signature (the part that is never elsewhere). */
  const secrets: { kind: string; value: string }[] = [];
  const keys = { ci: generateApiKey(), other: generateApiKey(), admin: generateApiKey() };
  let broker: Broker;

  beforeAll(async () => {
    await sql(`CREATE ROLE ${pgRole} NOLOGIN`);
    const redisEnv = `CANARY_REDIS_PASSWORD_${suffix.toUpperCase()}`;
    const redisBroker = await createRedisBrokerUser(prefix, redisEnv);
    const doc = testConfigDocument(dataDir, keys);
    const config = buildConfig(
      {
        ...doc,
        targets: {
          ...doc.targets,
          orders: {
            type: "postgres",
            url: "postgres://postgres@127.0.0.1:5432/test",
            prefix,
            entitlements: { read: { roles: [pgRole], defaultDuration: "5m", maxDuration: "1h" } },
          },
          cache: {
            type: "redis",
            url: `redis://${redisBroker}@127.0.0.1:6379`,
            password: { env: redisEnv },
            prefix,
            entitlements: {
              rw: { keys: [`${prefix}k:*`], commands: ["+get", "+set"], defaultDuration: "5m", maxDuration: "1h" },
            },
          },
        },
        access: [{ groups: ["ci"], entitlements: ["demo-api/read", "demo-api/write", "orders/read", "cache/rw"] }],
      },
      "canary test",
      process.env,
    );
    const destination = new Writable({
      write(chunk, _enc, done) {
        logs.push(String(chunk));
        done();
      },
    });
    broker = await startBroker(config, {
      logger: createLogger({ level: "debug", destination }),
      listen: false,
      schedule: false,
      clock,
    });
  });

  afterAll(async () => {
    await broker?.close();
    rmSync(dataDir, { recursive: true, force: true });
    const users = ((await redisCommand("ACL", "USERS").catch(() => [])) as string[]).filter((u) =>
      u.startsWith(prefix),
    );
    if (users.length > 0) await redisCommand("ACL", "DELUSER", ...users);
    const c = new pg.Client({ host: "127.0.0.1", port: 5432, user: "postgres", database: "test" });
    await c.connect();
    try {
      const roles = await c.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", [
        prefix,
      ]);
      for (const { rolname } of roles.rows) await c.query(`DROP ROLE IF EXISTS "${rolname}"`);
      await c.query(`DROP ROLE IF EXISTS ${pgRole}`);
    } finally {
      await c.end();
    }
  });

  async function call(
    method: "GET" | "POST",
    url: string,
    key: string | null,
    payload?: object,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    const response = await broker.app.inject({
      method,
      url,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
      ...(payload === undefined ? {} : { payload }),
    });
    if (response.statusCode >= 400) errorReplies.push(response.body);
    return response;
  }

  async function issue(entitlement: string): Promise<{ grantId: string; fields: Record<string, string> }> {
    const response = await call("POST", "/v1/requests", keys.ci.key, { entitlement, duration: "5m" });
    expect(response.statusCode, response.body).toBe(201);
    issueReplies.push(response.body);
    const body = response.json();
    return { grantId: body.grant.id, fields: body.credential.fields };
  }

  it("1,000+ issued secrets appear in no log, audit event, error, metric, grant view or store file", async () => {
    // Token credentials in volume, 50 at a time.
    const tokenGrants: string[] = [];
    for (let i = 0; i < TOKENS; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, TOKENS - i) }, (_, j) =>
          issue((i + j) % 2 ? "demo-api/read" : "demo-api/write"),
        ),
      );
      for (const { grantId, fields } of batch) {
        tokenGrants.push(grantId);
        const token = fields.token!;
        secrets.push({ kind: "token", value: token }, { kind: "token signature", value: token.split(".")[2]! });
      }
    }
    // Real logins, used against their servers.
    const realGrants: string[] = [];
    for (let i = 0; i < REAL_EACH; i++) {
      const pgGrant = await issue("orders/read");
      secrets.push({ kind: "postgres password", value: pgGrant.fields.password! });
      const login = new pg.Client({
        host: "127.0.0.1",
        port: 5432,
        user: pgGrant.fields.username!,
        password: pgGrant.fields.password!,
        database: "test",
      });
      await login.connect();
      await login.query("SELECT 1");
      await login.end();
      const redisGrant = await issue("cache/rw");
      secrets.push({ kind: "redis password", value: redisGrant.fields.password! });
      const r = new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: true, maxRetriesPerRequest: 0 });
      await r.connect();
      await r.call("AUTH", redisGrant.fields.username!, redisGrant.fields.password!);
      await r.set(`${prefix}k:canary`, "x");
      r.disconnect();
      realGrants.push(pgGrant.grantId, redisGrant.grantId);
    }

    // Misuse that produces error replies and audit events: the issued secrets presented where they do not belong.
    for (const { value } of secrets.filter((s) => s.kind !== "token signature").slice(0, 50)) {
      // 401, then 429 once this address has failed too often: both answers are searched for secrets.
      expect([401, 429]).toContain((await call("GET", "/v1/grants", value)).statusCode);
      expect(
        (await call("POST", "/v1/requests", keys.ci.key, { entitlement: "demo-api/read", duration: value })).statusCode,
      ).toBe(400);
    }
    const firstToken = secrets[0]!.value;
    expect((await call("POST", "/v1/introspect", keys.other.key, { token: firstToken })).json().active).toBe(true);
    await call("POST", "/v1/introspect", keys.other.key, { token: `${firstToken}x` });

    // Lifecycles: renew some, complete most, revoke some, let real ones expire, offboard what is left.
    for (const id of tokenGrants.slice(0, 100)) {
      expect((await call("POST", `/v1/grants/${id}/renew`, keys.ci.key, { duration: "10m" })).statusCode).toBe(200);
    }
    for (let i = 0; i < 600; i += 50) {
      await Promise.all(
        tokenGrants.slice(i, i + 50).map((id) => call("POST", `/v1/grants/${id}/complete`, keys.ci.key, {})),
      );
    }
    for (const id of tokenGrants.slice(600, 700)) {
      await call("POST", `/v1/grants/${id}/revoke`, keys.admin.key, { reason: "canary" });
    }
    await call("POST", `/v1/grants/${tokenGrants[0]}/renew`, keys.ci.key, {}); // 409: already ended
    // The Redis target refuses the broker for a while: removals fail, are logged and audited, and are retried.
    await redisCommand("ACL", "SETUSER", `${prefix}broker`, "-acl");
    clock.advance(6 * 60_000);
    await broker.scheduler.runOnce();
    expect((await broker.deps.store.grantsInStates(["revoke_failed"], 100)).length).toBeGreaterThan(0);
    await redisCommand("ACL", "SETUSER", `${prefix}broker`, "+acl");
    const settle = async () => {
      for (let pass = 0; pass < 30; pass++) {
        const open = await broker.deps.store.grantsInStates(["active", "revoking", "revoke_failed", "revoked"], 1);
        if (open.length === 0) return;
        clock.advance(60_000);
        await broker.scheduler.runOnce();
      }
    };
    await call("POST", "/v1/identities/ci-deploy/offboard", keys.admin.key, { reason: "canary run over" });
    await settle();
    for (const id of [...tokenGrants.slice(0, 5), ...realGrants]) {
      expect((await call("GET", `/v1/grants/${id}`, keys.admin.key)).json().state).toBe("verified");
    }
    expect(errorReplies.length).toBeGreaterThan(100);

    // The sinks.
    const audit: string[] = [];
    for (let after = 0; ; ) {
      const page = (await call("GET", `/v1/audit?after=${after}&limit=1000`, keys.admin.key)).json();
      audit.push(JSON.stringify(page.events));
      if (page.next === null) break;
      after = page.next;
    }
    const grantViews: string[] = [];
    for (let after: string | null = null; ; ) {
      const page: { grants: unknown[]; next: string | null } = (
        await call("GET", `/v1/grants?limit=500${after ? `&after=${after}` : ""}`, keys.admin.key)
      ).json();
      grantViews.push(JSON.stringify(page.grants));
      if (page.next === null) break;
      after = page.next;
    }
    const metrics = (await call("GET", "/metrics", null)).body;
    // A signed checkpoint over everything so far (the broker's timers are off in this test), into its file sink.
    expect(await broker.audit.checkpointer?.runOnce(true)).toBeTruthy();
    // The exports a SIEM receives (`ephemera audit export`), in both formats, from the store's own events.
    const exports: Record<"jsonl" | "ocsf", string[]> = { jsonl: [], ocsf: [] };
    for (let after = 0; ; ) {
      const events = await broker.deps.store.listAudit(after, 1000);
      if (events.length === 0) break;
      for (const event of events) {
        exports.jsonl.push(JSON.stringify(exportRecord(event, "jsonl", "canary")));
        exports.ocsf.push(JSON.stringify(exportRecord(event, "ocsf", "canary")));
      }
      after = events[events.length - 1]!.seq;
    }
    // The store as it is while running (with its write-ahead log), then after a clean close.
    const live = filesUnder(dataDir).map((f) => [`live file ${f.path.slice(dataDir.length + 1)}`, f.text] as const);
    await broker.close();
    const sinks: Record<string, string> = {
      log: logs.join(""),
      audit: audit.join("\n"),
      errors: errorReplies.join("\n"),
      metrics,
      grants: grantViews.join("\n"),
      "export jsonl": exports.jsonl.join("\n"),
      "export ocsf": exports.ocsf.join("\n"),
      ...Object.fromEntries(live),
      ...Object.fromEntries(filesUnder(dataDir).map((f) => [`file ${f.path.slice(dataDir.length + 1)}`, f.text])),
    };
    expect(Object.keys(sinks).some((name) => name.endsWith(".db"))).toBe(true);
    // Signed checkpoints were written to their sink under the data directory, and are searched with the other files.
    expect(Object.keys(sinks).filter((name) => name.startsWith("file checkpoints")).length).toBeGreaterThan(0);
    expect(sinks.log).toContain("grant removal failed; will retry");
    expect(audit.join("").length).toBeGreaterThan(100_000);

    // The search finds what is there: every secret is in the replies that handed it out.
    const handedOut = issueReplies.join("\n");
    for (const { value } of secrets) expect(handedOut.includes(value)).toBe(true);

    const hits: string[] = [];
    for (const [sink, text] of Object.entries(sinks)) {
      for (const { kind, value } of secrets) if (text.includes(value)) hits.push(`${kind} in ${sink}`);
    }
    expect(hits).toEqual([]);
    const sizes = Object.entries(sinks).map(([n, t]) => `${n}=${t.length}`);
    console.info(`canary: ${secrets.length} secrets searched in ${sizes.join(", ")}: ${hits.length} hits`);
  }, 300_000);
});
