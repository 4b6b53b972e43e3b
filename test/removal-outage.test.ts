// A target goes down and comes back, through the whole broker (config → connector → lifecycle → audit): a request made
// during the outage fails and leaves nothing; a removal during the outage is retried with backoff, alarms, and is
// verified — login probe included — within 60 s of the target's recovery. Real servers behind a TCP proxy the test cuts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { buildConfig } from "../src/config/load.js";
import { requireService } from "../src/connectors/testing/services.js";
import { startTcpProxy, type TcpProxy } from "../src/connectors/testing/tcp-proxy.js";
import { generateApiKey } from "../src/identity/api-keys.js";
import { type Broker, startBroker } from "../src/main.js";
import { ManualClock } from "../src/support/clock.js";
import { randomToken } from "../src/support/ids.js";
import { silentLogger } from "../src/support/logger.js";
import { createRedisBrokerUser, redisAnswers, redisCommand } from "./support/redis.js";

/** One real server: how to prepare it, the target settings that reach it through the proxy, and how to clean up. */
interface Server {
  readonly name: string;
  readonly port: number;
  up(): Promise<boolean>;
  /** Creates what the entitlement needs; returns target settings (without `type`/`entitlements`) and the entitlement. */
  prepare(proxyPort: number, prefix: string): Promise<{ type: string; settings: object; entitlement: object }>;
  /** Accounts with the prefix that exist in the server now. */
  accounts(prefix: string): Promise<string[]>;
  cleanup(prefix: string): Promise<void>;
}

const suffix = randomToken(6);

const postgres: Server = {
  name: "postgres",
  port: 5432,
  async up() {
    const client = new pg.Client({ host: "127.0.0.1", port: 5432, user: "postgres", database: "test" });
    await client.connect();
    await client.end();
    return true;
  },
  async prepare(proxyPort) {
    await sql(`CREATE ROLE eph_outage_${suffix} NOLOGIN`);
    return {
      type: "postgres",
      settings: { url: `postgres://postgres@127.0.0.1:${proxyPort}/test`, password: { env: "OUTAGE_PG_PASSWORD" } },
      entitlement: { roles: [`eph_outage_${suffix}`] },
    };
  },
  async accounts(prefix) {
    const rows = await sql("SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", [prefix]);
    return rows.map((r) => String(r.rolname));
  },
  async cleanup(prefix) {
    for (const role of await this.accounts(prefix)) await sql(`DROP ROLE IF EXISTS "${role}"`);
    await sql(`DROP ROLE IF EXISTS eph_outage_${suffix}`);
  },
};

async function sql(text: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ host: "127.0.0.1", port: 5432, user: "postgres", database: "test" });
  await client.connect();
  try {
    return (await client.query(text, values)).rows;
  } finally {
    await client.end();
  }
}

const mariadb: Server = {
  name: "mariadb",
  port: 3306,
  async up() {
    const c = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root" });
    await c.end();
    return true;
  },
  async prepare(proxyPort) {
    await my(`CREATE DATABASE IF NOT EXISTS eph_outage_${suffix}`);
    return {
      type: "mariadb",
      settings: { url: `mysql://root@127.0.0.1:${proxyPort}` },
      entitlement: { database: `eph_outage_${suffix}`, privileges: ["SELECT"] },
    };
  },
  async accounts(prefix) {
    const rows = await my("SELECT DISTINCT User FROM mysql.user WHERE User LIKE CONCAT(?, '%')", [prefix]);
    return rows.map((r) => String(r.User));
  },
  async cleanup(prefix) {
    for (const user of await this.accounts(prefix)) await my("DROP USER IF EXISTS ?@'%'", [user]);
    await my(`DROP DATABASE IF EXISTS eph_outage_${suffix}`);
  },
};

async function my(text: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
  const c = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root" });
  try {
    const [rows] = await c.query(text, values);
    return rows as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

const redis: Server = {
  name: "redis",
  port: 6379,
  up: redisAnswers,
  async prepare(proxyPort, prefix) {
    await createRedisBrokerUser(prefix, "OUTAGE_REDIS_PASSWORD");
    return {
      type: "redis",
      settings: { url: `redis://${prefix}broker@127.0.0.1:${proxyPort}`, password: { env: "OUTAGE_REDIS_PASSWORD" } },
      entitlement: { keys: [`${prefix}k:*`], commands: ["+get", "+set"] },
    };
  },
  async accounts(prefix) {
    const users = (await redisCommand("ACL", "USERS")) as string[];
    return users.filter((u) => u.startsWith(prefix) && u !== `${prefix}broker`);
  },
  async cleanup(prefix) {
    const users = ((await redisCommand("ACL", "USERS")) as string[]).filter((u) => u.startsWith(prefix));
    if (users.length > 0) await redisCommand("ACL", "DELUSER", ...users);
  },
};

for (const server of [postgres, mariadb, redis]) {
  const up = await requireService(`${server.name} on 127.0.0.1:${server.port}`, () => server.up());
  describe.skipIf(!up)(`outage of ${server.name}`, () => {
    const prefix = `eph_o${randomToken(5)}_`;
    const dataDir = mkdtempSync(join(tmpdir(), "ephemera-outage-"));
    const clock = new ManualClock(Date.now());
    let proxy: TcpProxy | undefined;
    let broker: Broker | undefined;
    const key = generateApiKey();

    afterAll(async () => {
      await broker?.close();
      await proxy?.close();
      await server.cleanup(prefix);
      rmSync(dataDir, { recursive: true, force: true });
    });

    async function start(): Promise<Broker> {
      proxy = await startTcpProxy(server.port);
      const target = await server.prepare(proxy.port, prefix);
      const config = buildConfig(
        {
          dataDir,
          logging: { level: "silent" },
          identities: {
            "ci-deploy": {
              kind: "pipeline",
              owner: "team",
              groups: ["ci"],
              apiKeys: [{ id: key.keyId, hash: key.hash }],
            },
          },
          targets: {
            db: {
              type: target.type,
              ...target.settings,
              prefix,
              entitlements: { task: { ...target.entitlement, defaultDuration: "1m", maxDuration: "10m" } },
            },
          },
          access: [{ groups: ["ci"], entitlements: ["db/task"] }],
        },
        "outage test",
        { ...process.env, OUTAGE_PG_PASSWORD: "" },
      );
      broker = await startBroker(config, { logger: silentLogger(), listen: false, schedule: false, clock });
      return broker;
    }

    const request = (b: Broker) =>
      b.app.inject({
        method: "POST",
        url: "/v1/requests",
        headers: { authorization: `Bearer ${key.key}` },
        payload: { entitlement: "db/task", duration: 60 },
      });

    /** Advances the clock a second at a time, running the scheduler, until `done` or `limitMs` of broker time. */
    async function runUntil(b: Broker, done: () => Promise<boolean>, limitMs: number): Promise<number> {
      const from = clock.now();
      while (!(await done())) {
        if (clock.now() - from > limitMs) break;
        clock.advance(1_000);
        await b.scheduler.runOnce();
      }
      return clock.now() - from;
    }

    it("a request during the outage fails with 502 and, once the target is back, nothing is left", async () => {
      const b = await start();
      await proxy?.cut();
      const refused = await request(b);
      expect(refused.statusCode, refused.body).toBe(502);
      expect(refused.json().code).toBe("downstream_unavailable");
      await proxy?.restore();
      const grants = await b.deps.store.listGrants({ limit: 10 });
      expect(grants).toHaveLength(1);
      const grantId = grants[0]?.id ?? "";
      const tookMs = await runUntil(
        b,
        async () => (await b.deps.store.getGrant(grantId))?.state === "verified",
        120_000,
      );
      expect(tookMs).toBeLessThanOrEqual(60_000);
      expect(await server.accounts(prefix)).toEqual([]);
    });

    it("a removal during the outage retries with backoff and alarms, then is verified within 60 s of recovery", async () => {
      const b = broker ?? (await start());
      const issued = await request(b);
      expect(issued.statusCode, issued.body).toBe(201);
      const grantId: string = issued.json().grant.id;
      expect(await server.accounts(prefix)).toHaveLength(1);

      await proxy?.cut();
      clock.advance(61_000);
      await b.scheduler.runOnce();
      expect((await b.deps.store.getGrant(grantId))?.state).toBe("revoke_failed");
      const metrics = await b.app.inject({ method: "GET", url: "/metrics" });
      expect(metrics.body).toMatch(/ephemera_grants_revoke_failed 1/);

      // Five minutes of outage: attempts keep failing, spaced out by the backoff, and the grant is never called removed.
      await runUntil(b, async () => false, 300_000);
      const during = await b.deps.store.getGrant(grantId);
      expect(during?.state).toBe("revoke_failed");
      expect(during?.attempts ?? 0).toBeGreaterThan(3);
      expect(during?.attempts ?? 0).toBeLessThan(60);
      expect(await server.accounts(prefix)).toHaveLength(1);

      await proxy?.restore();
      const tookMs = await runUntil(
        b,
        async () => (await b.deps.store.getGrant(grantId))?.state === "verified",
        120_000,
      );
      expect(tookMs).toBeLessThanOrEqual(60_000);
      const verified = await b.deps.store.getGrant(grantId);
      expect(verified?.evidence?.checks.find((c) => c.check === "login.refused")).toMatchObject({ passed: true });
      expect(await server.accounts(prefix)).toEqual([]);
      const audit = await b.deps.store.auditFor({ grantId }, 1000);
      expect(audit.filter((e) => e.code === "grant.revoke_failed").length).toBeGreaterThan(3);
      expect(audit.at(-1)?.code).toBe("grant.verified");
      expect((await b.app.inject({ method: "GET", url: "/metrics" })).body).toMatch(/ephemera_grants_revoke_failed 0/);
    });
  });
}
