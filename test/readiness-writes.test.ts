// Readiness tells a load balancer whether the broker can write: after a commit the store refuses (a full disk, a
// read-only database) /readyz answers 503 while reads still work, and 200 again once a commit lands, on both stores.
// The refusal is a trigger on the audit table, made from a second connection: the database answers, but not writes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { verifyStoreChain } from "../src/audit/verify.js";
import { buildConfig } from "../src/config/load.js";
import { generateApiKey } from "../src/identity/api-keys.js";
import { type Broker, startBroker } from "../src/main.js";
import { postgresStoreUp, STORE_TEST_URL, testSchema } from "../src/storage/postgres/testing/schemas.js";
import { silentLogger } from "../src/support/logger.js";
import { testConfigDocument } from "./support/broker.js";

const pgUp = await postgresStoreUp();

interface Sabotage {
  readonly storage: Record<string, unknown>;
  /** Makes every insert into the audit table fail, from outside the broker. */
  readonly refuseWrites: () => Promise<void>;
  readonly allowWrites: () => Promise<void>;
  readonly cleanup: () => Promise<void>;
}

async function sqliteSabotage(dir: string): Promise<Sabotage> {
  const path = join(dir, "store.db");
  let db: Database.Database | null = null;
  return {
    storage: { sqlite: path },
    refuseWrites: async () => {
      db ??= new Database(path);
      db.exec(
        "CREATE TRIGGER refuse_writes BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
      );
    },
    allowWrites: async () => {
      db?.exec("DROP TRIGGER refuse_writes");
    },
    cleanup: async () => {
      db?.close();
    },
  };
}

async function postgresSabotage(): Promise<Sabotage> {
  const schema = testSchema("eph_ready");
  const client = new pg.Client({ connectionString: STORE_TEST_URL });
  await client.connect();
  const table = `"${schema.schema}".audit_events`;
  return {
    storage: { postgres: { url: STORE_TEST_URL, schema: schema.schema } },
    refuseWrites: async () => {
      await client.query(
        `CREATE FUNCTION "${schema.schema}".refuse_writes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$`,
      );
      await client.query(
        `CREATE TRIGGER refuse_writes BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION "${schema.schema}".refuse_writes()`,
      );
    },
    allowWrites: async () => {
      await client.query(`DROP TRIGGER refuse_writes ON ${table}`);
    },
    cleanup: async () => {
      await client.end();
      await schema.drop();
    },
  };
}

const stores: readonly (readonly [string, boolean, (dir: string) => Promise<Sabotage>])[] = [
  ["SQLite", true, sqliteSabotage],
  ["PostgreSQL", pgUp, () => postgresSabotage()],
];

for (const [name, available, sabotage] of stores) {
  describe.runIf(available)(`readiness when the ${name} store cannot write`, () => {
    let broker: Broker | null = null;
    let dir = "";
    let store: Sabotage | null = null;
    afterEach(async () => {
      await broker?.close();
      await store?.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    it("answers 503 after a failed commit while reads work, and 200 once a commit lands", async () => {
      dir = mkdtempSync(join(tmpdir(), "ephemera-ready-"));
      store = await sabotage(dir);
      const keys = { ci: generateApiKey(), other: generateApiKey(), admin: generateApiKey() };
      const document = { ...testConfigDocument(join(dir, "data"), keys), storage: store.storage };
      broker = await startBroker(buildConfig(document, "test"), {
        logger: silentLogger(),
        listen: false,
        schedule: false,
      });
      const app = broker.app;
      const ask = () =>
        app.inject({
          method: "POST",
          url: "/v1/requests",
          headers: { authorization: `Bearer ${keys.ci.key}` },
          payload: { entitlement: "demo-api/read", duration: "5m" },
        });
      const ready = () => app.inject({ method: "GET", url: "/readyz" });

      expect((await ask()).statusCode).toBe(201);
      expect((await ready()).statusCode).toBe(200);

      await store.refuseWrites();
      const refused = await ask();
      expect(refused.statusCode).toBe(503);
      expect(refused.json()).toMatchObject({ code: "audit_unavailable" });
      const notReady = await ready();
      expect(notReady.statusCode).toBe(503);
      expect(notReady.json()).toMatchObject({ status: "not_ready", checks: { store: true, storeWritable: false } });
      // Reads still work: only writing is broken, and readiness says so.
      const grants = await app.inject({
        method: "GET",
        url: "/v1/grants",
        headers: { authorization: `Bearer ${keys.admin.key}` },
      });
      expect(grants.statusCode).toBe(200);

      await store.allowWrites();
      const readyAgain = await ready();
      expect(readyAgain.statusCode).toBe(200);
      expect((await ask()).statusCode).toBe(201);
      const events = await broker.deps.store.listAudit(0, 1000);
      expect(events.filter((e) => e.code === "broker.writes_resumed")).toHaveLength(1);
      expect((await verifyStoreChain(broker.deps.store)).ok).toBe(true);
    });
  });
}
