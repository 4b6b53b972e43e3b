// The SQLite store's writer thread: a batch waiting on the disk or a lock no longer holds the caller's thread, and
// whatever goes wrong on the writer reaches callers as the store's own errors.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { ConflictError, StoreUnavailableError } from "../store.js";
import { makeDraft } from "../testing/fixtures.js";
import { openDatabase } from "./driver.js";
import { openSqliteStore, type SqliteStore } from "./sqlite-store.js";
import { fromWire, toWire } from "./thread-messages.js";
import { writerScript } from "./writer-script.js";
import { WriterThread } from "./writer-thread.js";

const emptySet = () => ({ writes: [], audit: [makeDraft()] });

describe("the SQLite store's writer thread", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function tempPath(): string {
    const dir = mkdtempSync(join(tmpdir(), "ephemera-writer-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return join(dir, "ephemera.db");
  }

  async function open(path: string, writer: "thread" | "inline"): Promise<SqliteStore> {
    const store = await openSqliteStore(path, { busyTimeoutMs: 400, writer });
    cleanups.push(() => store.close());
    return store;
  }

  /** Whether a 20 ms timer fires before a change set that waits ~400 ms for another connection's write lock settles. */
  async function timerFiresWhileBatchWaits(writer: "thread" | "inline"): Promise<boolean> {
    const path = tempPath();
    const store = await open(path, writer);
    await store.apply(emptySet());
    const side = openDatabase(path);
    cleanups.push(() => void side.close());
    side.exec("BEGIN IMMEDIATE");
    const order: string[] = [];
    const timer = new Promise<void>((resolve) =>
      setTimeout(() => {
        order.push("timer");
        resolve();
      }, 20),
    );
    const blocked = store.apply(emptySet()).then(
      () => order.push("settled"),
      () => order.push("settled"),
    );
    await Promise.all([timer, blocked]);
    side.exec("ROLLBACK");
    // The store recovers once the lock is gone.
    expect((await store.apply(emptySet()))[0]?.seq).toBe(2);
    return order[0] === "timer";
  }

  it("keeps the caller's thread running while a batch waits for the database", async () => {
    expect(await timerFiresWhileBatchWaits("thread")).toBe(true);
    // The same wait on the caller's thread holds everything else behind it: what the thread is for.
    expect(await timerFiresWhileBatchWaits("inline")).toBe(false);
  });

  it("reads on the caller's connection see every change set as soon as its promise resolves", async () => {
    const store = await open(tempPath(), "thread");
    for (let i = 1; i <= 20; i++) {
      const [event] = await store.apply(emptySet());
      expect(await store.auditHead()).toStrictEqual({ seq: i, hash: event?.hash });
    }
    expect(store.stats).toMatchObject({ commits: 20, changeSets: 20 });
  });

  it("sends a burst of calls in few messages, and its change sets commit in few transactions", async () => {
    const store = await open(tempPath(), "thread");
    await Promise.all(Array.from({ length: 300 }, () => store.apply(emptySet())));
    expect(store.stats.commits).toBeLessThanOrEqual(3);
    expect((await store.auditHead()).seq).toBe(300);
  });

  it("an argument that cannot cross threads fails its own call only", async () => {
    const store = await open(tempPath(), "thread");
    const results = await Promise.allSettled([
      store.apply(emptySet()),
      store.apply({ writes: [], audit: [makeDraft({ data: { f: () => 1 } })] }),
      store.apply(emptySet()),
    ]);
    expect(results.map((r) => r.status)).toStrictEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((await store.auditHead()).seq).toBe(2);
  });

  it("a database that cannot be opened fails the open with the reason", async () => {
    const path = tempPath();
    writeFileSync(`${path}.d`, "not a directory");
    const failure = openSqliteStore(join(`${path}.d`, "ephemera.db"));
    await expect(failure).rejects.toThrow(/EEXIST|ENOTDIR/);
  });

  it("a writer that stops fails the calls it held and every later one with StoreUnavailableError", async () => {
    const thread = new WriterThread(await writerScript(), { path: tempPath(), maxBatch: 512, busyTimeoutMs: 5000 });
    cleanups.push(() => thread.terminate());
    await thread.ready;
    await thread.call("migrate", []);
    expect(thread.running).toBe(true);
    const inFlight = thread.call("apply", [emptySet()]);
    await thread.terminate();
    await expect(inFlight).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(thread.running).toBe(false);
    await expect(thread.call("apply", [emptySet()])).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it("an error raised on the writer reaches the caller as the class callers test for", async () => {
    const path = tempPath();
    const thread = new WriterThread(await writerScript(), { path, maxBatch: 512, busyTimeoutMs: 5000 });
    cleanups.push(() => thread.terminate());
    await thread.call("migrate", []);
    // A negative limit is a RangeError from the port's rules; a change set without an event is refused.
    await expect(thread.call("claimDue", [{ now: 0, limit: -1, leaseMs: 1 }])).rejects.toBeInstanceOf(RangeError);
    await expect(thread.call("apply", [{ writes: [], audit: [] }])).rejects.toThrow(/without audit events/);
  });

  it("errors keep their class, code and cause across the thread boundary", () => {
    const conflict = fromWire(toWire(new ConflictError("grant grt_1 changed")));
    expect(conflict).toBeInstanceOf(ConflictError);
    expect(conflict.message).toBe("grant grt_1 changed");
    const sqlite = new Database.SqliteError("database is locked", "SQLITE_BUSY");
    const unavailable = fromWire(toWire(new StoreUnavailableError("could not commit", { cause: sqlite })));
    expect(unavailable).toBeInstanceOf(StoreUnavailableError);
    expect(unavailable.cause).toBeInstanceOf(Database.SqliteError);
    expect((unavailable.cause as InstanceType<typeof Database.SqliteError>).code).toBe("SQLITE_BUSY");
    expect(fromWire(toWire("a string"))).toMatchObject({ name: "Error", message: "a string" });
  });
});
