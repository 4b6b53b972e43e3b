// Runs the store contract on the real PostgreSQL (each test in its own schema), then what only several replicas on one
// database show: one chain from many pools, claims and insert-once across them, migrations racing, outages.
import { afterEach, describe, expect, it } from "vitest";
import { startTcpProxy, type TcpProxy } from "../../connectors/testing/tcp-proxy.js";
import { GENESIS_HASH, hashEvent } from "../../domain/audit-chain.js";
import type { AuditEvent } from "../../domain/types.js";
import { postgresMigrations } from "../migrations/postgres/index.js";
import { sqliteMigrations } from "../migrations/sqlite/index.js";
import { ConflictError, StoreUnavailableError } from "../store.js";
import {
  creation,
  expectAdminGroupMigrated,
  expectUsageObservationMigrated,
  grantsBeforeUsageObservation,
  identitiesBeforeAdminGroup,
  insertGrants,
  makeDraft,
  makeRequest,
  RECEIPT_BEFORE_USAGE_OBSERVATION,
  T0,
} from "../testing/fixtures.js";
import { describeStoreContract } from "../testing/store-contract.js";
import { openPostgresStore, type PostgresStore } from "./postgres-store.js";
import { asSuperuser, postgresStoreUp, STORE_TEST_URL, testSchema } from "./testing/schemas.js";

const up = await postgresStoreUp();

describe.runIf(up)("postgres", () => {
  describeStoreContract("postgres", async () => {
    const schema = testSchema();
    const store = await openPostgresStore(schema.options);
    return {
      store,
      cleanup: async () => {
        await store.close();
        await schema.drop();
      },
    };
  });
});

describe.runIf(up)("PostgresStore", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** `count` stores (each its own pool, as separate replicas have) on one fresh schema. */
  async function replicas(count: number, extra: { url?: string; maxBatch?: number } = {}): Promise<PostgresStore[]> {
    const schema = testSchema();
    cleanups.push(() => schema.drop());
    const stores = await Promise.all(
      Array.from({ length: count }, () => openPostgresStore({ ...schema.options, ...extra })),
    );
    cleanups.push(async () => {
      for (const s of stores) await s.close();
    });
    return stores;
  }

  const emptySet = () => ({ writes: [], audit: [makeDraft()] });

  async function expectOneChain(store: PostgresStore, length: number): Promise<void> {
    const events: AuditEvent[] = [];
    for (;;) {
      const page = await store.listAudit(events.at(-1)?.seq ?? 0, 500);
      if (page.length === 0) break;
      events.push(...page);
    }
    expect(events.map((e) => e.seq)).toStrictEqual(Array.from({ length }, (_, i) => i + 1));
    let prev = GENESIS_HASH;
    for (const { hash, ...body } of events) {
      expect(body.prevHash).toBe(prev);
      expect(hashEvent(body)).toBe(hash);
      prev = hash;
    }
    expect(await store.auditHead()).toStrictEqual({ seq: length, hash: prev });
  }

  it("migrations run once when several replicas start together, and a newer schema is refused", async () => {
    const stores = await replicas(4);
    const rows = await asSuperuser((c) =>
      c.query(`SELECT version, name FROM ${stores[0]!.schema}.schema_migrations ORDER BY version`),
    );
    expect(rows.rows).toStrictEqual(postgresMigrations.map((m) => ({ version: m.version, name: m.name })));
    // The same versions as SQLite's: one row mapping serves both stores, so their schemas must move together.
    expect(postgresMigrations.map((m) => [m.version, m.name])).toStrictEqual(
      sqliteMigrations.map((m) => [m.version, m.name]),
    );
    await asSuperuser((c) => c.query(`INSERT INTO ${stores[0]!.schema}.schema_migrations VALUES (999, 'future', 0)`));
    await expect(stores[1]!.migrate()).rejects.toThrow(/newer/);
  });

  it("migration 8 withdraws the unused claims polling made and says how each grant's usage was observed", async () => {
    const [store] = await replicas(1);
    if (!store) throw new Error("no store");
    const grants = await grantsBeforeUsageObservation(store);
    await asSuperuser(async (c) => {
      for (const g of [grants.polled, grants.token]) {
        await c.query(`UPDATE ${store.schema}.grants SET unused = 1, receipt = $1 WHERE id = $2`, [
          RECEIPT_BEFORE_USAGE_OBSERVATION,
          g.id,
        ]);
      }
      await c.query(`DELETE FROM ${store.schema}.schema_migrations WHERE version = 8`);
    });
    await store.migrate();
    await expectUsageObservationMigrated(store, grants);
  });

  it("migration 9 puts identities with the admin flag in the admin group, and flags the group's members", async () => {
    const [store] = await replicas(1);
    if (!store) throw new Error("no store");
    await identitiesBeforeAdminGroup(store);
    await asSuperuser(async (c) => {
      await c.query(`UPDATE ${store.schema}.identities SET groups = '["sre"]' WHERE id = 'old-admin'`);
      await c.query(`UPDATE ${store.schema}.identities SET admin = 0 WHERE id = 'in-group'`);
      await c.query(`DELETE FROM ${store.schema}.schema_migrations WHERE version = 9`);
    });
    await store.migrate();
    await expectAdminGroupMigrated(store);
  });

  it("keeps one contiguous chain when four replicas append at once", async () => {
    const stores = await replicas(4);
    await Promise.all(stores.flatMap((store) => Array.from({ length: 100 }, () => store.apply(emptySet()))));
    await expectOneChain(stores[0]!, 400);
    // Group commit still batches inside each replica.
    for (const s of stores) expect(s.stats.commits).toBeLessThan(100);
  });

  it("hands each due grant to exactly one of several replicas claiming at once", async () => {
    const stores = await replicas(3);
    await insertGrants(
      stores[0]!,
      Array.from({ length: 90 }, (_, i) => ({ dueAt: T0 + i })),
    );
    const claimed = await Promise.all(
      stores.flatMap((s) => Array.from({ length: 4 }, () => s.claimDue({ now: T0 + 1000, limit: 10, leaseMs: 5000 }))),
    );
    const ids = claimed.flat().map((g) => g.id);
    expect(ids).toHaveLength(90);
    expect(new Set(ids).size).toBe(90);
  });

  it("lets exactly one replica insert a key once, however many race for it", async () => {
    const stores = await replicas(3);
    const attempts = stores.flatMap((s, r) =>
      Array.from({ length: 10 }, (_, i) =>
        s.apply({
          writes: [
            {
              kind: "claimOnce",
              namespace: "replay",
              key: "jti-1",
              value: { replica: r, i },
              expiresAt: T0 + 60_000,
              now: T0,
            },
          ],
          audit: [makeDraft({ code: "token.used" })],
        }),
      ),
    );
    const results = await Promise.allSettled(attempts);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(ConflictError);
    await expectOneChain(stores[0]!, 1);
  });

  it("keeps audit events append-only and the head moving forward inside the database", async () => {
    const [store] = await replicas(1);
    await store!.apply(emptySet());
    const s = store!.schema;
    await asSuperuser(async (c) => {
      await expect(c.query(`UPDATE ${s}.audit_events SET code = 'x'`)).rejects.toThrow(/append-only/);
      await expect(c.query(`DELETE FROM ${s}.audit_events`)).rejects.toThrow(/append-only/);
      await expect(c.query(`TRUNCATE ${s}.audit_events`)).rejects.toThrow(/append-only/);
      await expect(c.query(`UPDATE ${s}.audit_head SET seq = 0`)).rejects.toThrow(/forward/);
      await expect(c.query(`DELETE FROM ${s}.audit_head`)).rejects.toThrow(/forward/);
    });
  });

  it("fails writes and reads with StoreUnavailableError while the server is cut off, then recovers", async () => {
    const proxy: TcpProxy = await startTcpProxy(5432);
    cleanups.push(() => proxy.close());
    const [store] = await replicas(1, { url: `postgres://postgres@127.0.0.1:${proxy.port}/test` });
    const request = makeRequest();
    await store!.apply(creation(request));
    await proxy.cut();
    await expect(store!.apply(emptySet())).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store!.getRequest(request.id)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await store!.ping()).toBe(false);
    await proxy.restore();
    expect(await store!.ping()).toBe(true);
    const [next] = await store!.apply(emptySet());
    expect(next?.seq).toBe(2);
    expect(await store!.getRequest(request.id)).toStrictEqual(request);
  });

  it("refuses a schema name that is not a plain identifier", async () => {
    await expect(openPostgresStore({ url: STORE_TEST_URL, schema: "x; DROP TABLE y" })).rejects.toThrow(/schema/);
  });
});
