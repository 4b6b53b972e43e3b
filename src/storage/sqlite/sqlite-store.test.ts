// Runs the store contract on SQLite, then checks what only SQLite has: group commit, the due index plan, pragmas, files.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GENESIS_HASH, hashEvent } from "../../domain/audit-chain.js";
import type { AuditEvent } from "../../domain/types.js";
import { sqliteMigrations } from "../migrations/sqlite/index.js";
import { GRANT_REPORT_SQL, NEXT_DUE_SQL, PRIVILEGE_AT_RANK_SQL } from "../sql/statements.js";
import { StoreUnavailableError } from "../store.js";
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
import { openDatabase, type SqliteConnection } from "./driver.js";
import { openSqliteStore, type SqliteStore } from "./sqlite-store.js";
import { DUE_GRANTS_SQL } from "./statements.js";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "ephemera-sqlite-"));
}

describeStoreContract("sqlite", async () => {
  const dir = tempDir();
  const store = await openSqliteStore(join(dir, "ephemera.db"));
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

// The in-memory store tests can use instead of a fake: the same contract, no file.
describeStoreContract("sqlite in memory", async () => {
  const store = await openSqliteStore(":memory:");
  return { store, cleanup: () => store.close() };
});

describe("SqliteStore", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A store in its own temp directory; the database sits in a subdirectory that does not exist yet. */
  async function open(
    options: { maxBatch?: number; busyTimeoutMs?: number } = {},
  ): Promise<{ store: SqliteStore; path: string }> {
    const dir = tempDir();
    const path = join(dir, "data", "ephemera.db");
    const store = await openSqliteStore(path, options);
    cleanups.push(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return { store, path };
  }

  function sideConnection(path: string): SqliteConnection {
    const db = openDatabase(path);
    cleanups.push(async () => void db.close());
    return db;
  }

  const emptySet = () => ({ writes: [], audit: [makeDraft()] });

  it("creates the directory and runs in WAL mode with durable commits and foreign keys", async () => {
    const { store, path } = await open();
    expect(existsSync(path)).toBe(true);
    expect(store.settings()).toStrictEqual({ journalMode: "wal", synchronous: 2, foreignKeys: 1, busyTimeout: 5000 });
    expect(sideConnection(path).pragma("journal_mode", { simple: true })).toBe("wal");
  });

  it("records applied migrations once and refuses a database from a newer broker", async () => {
    const { store, path } = await open();
    await store.migrate();
    const side = sideConnection(path);
    const applied = side.prepare("SELECT version, name FROM schema_migrations ORDER BY version").all();
    expect(applied).toStrictEqual(sqliteMigrations.map((m) => ({ version: m.version, name: m.name })));
    expect(applied[0]).toStrictEqual({ version: 1, name: "initial-schema" });
    side.prepare("INSERT INTO schema_migrations VALUES (999, 'from-the-future', 0)").run();
    await expect(store.migrate()).rejects.toThrow(/newer/);
  });

  it("migration 8 withdraws the unused claims polling made and says how each grant's usage was observed", async () => {
    const { store, path } = await open();
    const grants = await grantsBeforeUsageObservation(store);
    const side = sideConnection(path);
    const old = side.prepare("UPDATE grants SET unused = 1, receipt = ? WHERE id = ?");
    for (const g of [grants.polled, grants.token]) old.run(RECEIPT_BEFORE_USAGE_OBSERVATION, g.id);
    side.prepare("DELETE FROM schema_migrations WHERE version = 8").run();
    await store.migrate();
    await expectUsageObservationMigrated(store, grants);
  });

  it("migration 9 puts identities with the admin flag in the admin group, and flags the group's members", async () => {
    const { store, path } = await open();
    await identitiesBeforeAdminGroup(store);
    const side = sideConnection(path);
    // As stored before: the flag alone, or the group alone.
    side.prepare(`UPDATE identities SET groups = '["sre"]' WHERE id = 'old-admin'`).run();
    side.prepare("UPDATE identities SET admin = 0 WHERE id = 'in-group'").run();
    side.prepare("DELETE FROM schema_migrations WHERE version = 9").run();
    await store.migrate();
    await expectAdminGroupMigrated(store);
  });

  it("commits a burst of 200 concurrent change sets in far fewer transactions", async () => {
    const { store } = await open();
    const before = store.stats.commits;
    await Promise.all(Array.from({ length: 200 }, () => store.apply(emptySet())));
    expect(store.stats.commits - before).toBeLessThanOrEqual(2);
    expect(store.stats.largestBatch).toBeGreaterThanOrEqual(100);
    expect((await store.auditHead()).seq).toBe(200);
  });

  it("caps a batch at maxBatch change sets", async () => {
    const { store } = await open({ maxBatch: 50 });
    await Promise.all(Array.from({ length: 200 }, () => store.apply(emptySet())));
    expect(store.stats.commits).toBe(4);
    expect(store.stats.largestBatch).toBe(50);
  });

  it("finds due grants through the partial due index, without scanning or sorting", async () => {
    const { store, path } = await open();
    await insertGrants(
      store,
      Array.from({ length: 50 }, (_, i) => ({ dueAt: i % 3 === 0 ? null : T0 + i })),
    );
    const side = sideConnection(path);
    side.exec("ANALYZE");
    const explain = (sql: string) => side.prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`);
    const plans = [explain(DUE_GRANTS_SQL).all({ now: T0, limit: 10 }), explain(NEXT_DUE_SQL).all()].map((rows) =>
      rows.map((row) => row.detail),
    );
    for (const details of plans) {
      expect(details.some((d) => d.includes("grants_due"))).toBe(true);
      expect(details.some((d) => /SCAN grants\b(?! USING)/.test(d) || d.includes("TEMP B-TREE"))).toBe(false);
    }
  });

  it("reads the report's range through the grants_issued index, not a scan of every grant", async () => {
    const { store, path } = await open();
    await insertGrants(
      store,
      Array.from({ length: 200 }, (_, i) => ({
        issuedAt: i % 4 === 0 ? null : T0 + i * 1000,
        verifiedAt: T0 + i * 1000 + 5,
      })),
    );
    const side = sideConnection(path);
    side.exec("ANALYZE");
    const explain = (sql: string) => side.prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`);
    const range = { from: T0 + 10_000, to: T0 + 20_000 };
    for (const rows of [
      explain(GRANT_REPORT_SQL).all({ ...range, now: T0 }),
      explain(PRIVILEGE_AT_RANK_SQL).all({ ...range, offset: 0 }),
    ]) {
      const details = rows.map((row) => row.detail);
      expect(
        details.some((d) => d.includes("grants_issued")),
        details.join("; "),
      ).toBe(true);
      expect(details.some((d) => /SCAN grants\b(?! USING)/.test(d))).toBe(false);
    }
  });

  it("keeps data and continues the chain across close and reopen", async () => {
    const { store, path } = await open();
    const request = makeRequest();
    await store.apply(creation(request));
    const before = await store.auditHead();
    await store.close();

    const reopened = await openSqliteStore(path);
    cleanups.push(() => reopened.close());
    expect(await reopened.getRequest(request.id)).toStrictEqual(request);
    expect(await reopened.auditHead()).toStrictEqual(before);
    const [next] = await reopened.apply(emptySet());
    expect(next).toMatchObject({ seq: before.seq + 1, prevHash: before.hash });
  });

  it("commits what is queued when closed, then refuses work", async () => {
    const { store, path } = await open();
    const pending = store.apply(emptySet());
    await store.close();
    expect(await pending).toHaveLength(1);
    await expect(store.apply(emptySet())).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await store.ping()).toBe(false);
    const reopened = await openSqliteStore(path);
    cleanups.push(() => reopened.close());
    expect((await reopened.auditHead()).seq).toBe(1);
  });

  it("fails the whole batch with StoreUnavailableError when it cannot take the write lock, then recovers", async () => {
    const { store, path } = await open({ busyTimeoutMs: 20 });
    await store.apply(emptySet());
    const side = sideConnection(path);
    side.exec("BEGIN IMMEDIATE");
    const blocked = await Promise.allSettled([store.apply(emptySet()), store.apply(emptySet())]);
    side.exec("ROLLBACK");
    for (const result of blocked) {
      expect(result.status).toBe("rejected");
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
    }
    const [next] = await store.apply(emptySet());
    expect(next?.seq).toBe(2);
  });

  it("keeps one chain when two stores share a file", async () => {
    const { store, path } = await open();
    const other = await openSqliteStore(path);
    cleanups.push(() => other.close());
    for (let round = 0; round < 5; round++) {
      await Promise.all([store.apply(emptySet()), other.apply(emptySet()), store.apply(emptySet())]);
    }
    const events: AuditEvent[] = [...(await store.listAudit(0, 100))];
    expect(events.map((e) => e.seq)).toStrictEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    let prev = GENESIS_HASH;
    for (const { hash, ...body } of events) {
      expect(body.prevHash).toBe(prev);
      expect(hashEvent(body)).toBe(hash);
      prev = hash;
    }
  });

  it("keeps audit events append-only inside the database", async () => {
    const { store, path } = await open();
    await store.apply(emptySet());
    const side = sideConnection(path);
    expect(() => side.exec("UPDATE audit_events SET code = 'x'")).toThrow(/append-only/);
    expect(() => side.exec("DELETE FROM audit_events")).toThrow(/append-only/);
  });

  it("works in memory", async () => {
    const store = await openSqliteStore(":memory:");
    cleanups.push(() => store.close());
    await store.apply(creation(makeRequest()));
    expect((await store.auditHead()).seq).toBe(1);
  });
});
