// Tampers with a real SQLite audit log (edit, delete, swap, rewrite with a recomputed hash) and checks each is caught.
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GENESIS_HASH, hashEvent } from "../domain/audit-chain.js";
import type { AuditEvent } from "../domain/types.js";
import { openDatabase, type SqliteConnection } from "../storage/sqlite/driver.js";
import { openSqliteStore } from "../storage/sqlite/sqlite-store.js";
import { creation, makeDraft, makeGrant, makeRequest } from "../storage/testing/fixtures.js";
import { verifyChain, verifyStoreChain } from "./verify.js";

let dir = "";
let pristine = "";
let events: AuditEvent[] = [];
let copies = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ephemera-verify-"));
  pristine = join(dir, "pristine.db");
  const store = await openSqliteStore(pristine);
  // A few hundred events from concurrent change sets of different sizes, some with grants and requests.
  await Promise.all(
    Array.from({ length: 150 }, (_, i) => {
      if (i % 5 === 0) {
        const request = makeRequest();
        return store.apply(creation(request, makeGrant(request)));
      }
      return store.apply({
        writes: [],
        audit: Array.from({ length: (i % 3) + 1 }, (_, j) => makeDraft({ code: "test.event", data: { i, j } })),
      });
    }),
  );
  events = [...(await store.listAudit(0, 10_000))];
  await store.close();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Copies the pristine log, lets `tamper` loose on it with raw SQL (guards dropped, as an intruder would), verifies. */
async function verifyTampered(tamper: (db: SqliteConnection) => void) {
  const path = join(dir, `tampered-${copies++}.db`);
  copyFileSync(pristine, path);
  const db = openDatabase(path);
  db.exec("DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;");
  tamper(db);
  db.close();
  const store = await openSqliteStore(path);
  try {
    return await verifyStoreChain(store, { pageSize: 64 });
  } finally {
    await store.close();
  }
}

const rehash = (event: AuditEvent) => {
  const { hash: _old, ...body } = event;
  return hashEvent(body);
};

describe("verifyStoreChain on a tampered SQLite log", () => {
  it("accepts the untouched log", async () => {
    expect(events.length).toBeGreaterThan(250);
    const last = events.at(-1)!;
    expect(await verifyTampered(() => {})).toStrictEqual({
      ok: true,
      count: events.length,
      headSeq: last.seq,
      headHash: last.hash,
    });
  });

  it("detects an edited data field at that event", async () => {
    const result = await verifyTampered((db) =>
      db.exec("UPDATE audit_events SET data = json_set(data, '$.i', 999) WHERE seq = 137"),
    );
    expect(result).toMatchObject({ ok: false, problem: "hash_mismatch", firstBadSeq: 137, count: 136 });
  });

  it("detects a deleted event as a gap at its seq", async () => {
    const result = await verifyTampered((db) => db.exec("DELETE FROM audit_events WHERE seq = 200"));
    expect(result).toMatchObject({ ok: false, problem: "gap", firstBadSeq: 200, count: 199 });
  });

  it("detects a deletion hidden by renumbering the rest", async () => {
    const result = await verifyTampered((db) =>
      db.exec("DELETE FROM audit_events WHERE seq = 10; UPDATE audit_events SET seq = seq - 1 WHERE seq > 10;"),
    );
    expect(result).toMatchObject({ ok: false, problem: "hash_mismatch", firstBadSeq: 10 });
  });

  it("detects two swapped events at the first of them", async () => {
    const result = await verifyTampered((db) =>
      db.exec(`UPDATE audit_events SET seq = -1 WHERE seq = 50;
               UPDATE audit_events SET seq = 50 WHERE seq = 51;
               UPDATE audit_events SET seq = 51 WHERE seq = -1;`),
    );
    expect(result).toMatchObject({ ok: false, problem: "hash_mismatch", firstBadSeq: 50 });
  });

  it("detects an edit whose hash was recomputed, at the rewritten event", async () => {
    const original = events[99]!;
    const forged = { ...original, data: { ...original.data, i: -1 } };
    const result = await verifyTampered((db) =>
      db
        .prepare("UPDATE audit_events SET data = ?, hash = ? WHERE seq = ?")
        .run(JSON.stringify(forged.data), rehash(forged), forged.seq),
    );
    expect(result).toMatchObject({ ok: false, problem: "broken_link", firstBadSeq: 100, count: 99 });
  });

  it("detects a changed, a rehashed or a removed first event", async () => {
    const first = events[0]!;
    const edited = await verifyTampered((db) => db.exec("UPDATE audit_events SET code = 'x' WHERE seq = 1"));
    expect(edited).toMatchObject({ ok: false, problem: "hash_mismatch", firstBadSeq: 1, count: 0 });

    const forged = { ...first, code: "forged" };
    const rehashed = await verifyTampered((db) =>
      db.prepare("UPDATE audit_events SET code = ?, hash = ? WHERE seq = 1").run(forged.code, rehash(forged)),
    );
    expect(rehashed).toMatchObject({ ok: false, problem: "broken_link", firstBadSeq: 1 });

    const relinked = { ...first, prevHash: "f".repeat(64) };
    const moved = await verifyTampered((db) =>
      db
        .prepare("UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = 1")
        .run(relinked.prevHash, rehash(relinked)),
    );
    expect(moved).toMatchObject({ ok: false, problem: "broken_link", firstBadSeq: 1, count: 0 });

    const removed = await verifyTampered((db) => db.exec("DELETE FROM audit_events WHERE seq = 1"));
    expect(removed).toMatchObject({ ok: false, problem: "gap", firstBadSeq: 1, count: 0 });
  });
});

describe("verifyChain on a sequence of events", () => {
  const swap = (list: AuditEvent[], a: number, b: number) => {
    const out = [...list];
    [out[a], out[b]] = [out[b]!, out[a]!];
    return out;
  };

  it("detects adjacent and distant reordering at the first displaced seq", async () => {
    expect(await verifyChain(swap(events, 19, 20))).toMatchObject({ ok: false, problem: "reordered", firstBadSeq: 20 });
    expect(await verifyChain(swap(events, 29, 80))).toMatchObject({ ok: false, problem: "reordered", firstBadSeq: 30 });
  });

  it("detects a repeated event", async () => {
    const repeated = [...events.slice(0, 40), events[39]!, ...events.slice(40)];
    expect(await verifyChain(repeated)).toMatchObject({ ok: false, problem: "reordered", firstBadSeq: 41, count: 40 });
  });

  it("detects a removed last event only against an expected head", async () => {
    const head = { seq: events.at(-1)!.seq, hash: events.at(-1)!.hash };
    const cut = events.slice(0, -3);
    expect((await verifyChain(cut)).ok).toBe(true);
    expect(await verifyChain(cut, { expectedHead: head })).toMatchObject({
      ok: false,
      problem: "truncated",
      firstBadSeq: head.seq - 2,
    });
    expect(await verifyChain(events, { expectedHead: { seq: 5, hash: GENESIS_HASH } })).toMatchObject({
      ok: false,
      problem: "checkpoint_mismatch",
      firstBadSeq: 5,
    });
  });

  it("verifies from a checkpoint, and refuses a wrong one", async () => {
    const anchor = { seq: events[99]!.seq, hash: events[99]!.hash };
    const rest = events.slice(100);
    expect(await verifyChain(rest, { from: anchor })).toMatchObject({ ok: true, count: rest.length });
    expect(await verifyChain(rest, { from: { ...anchor, hash: GENESIS_HASH } })).toMatchObject({
      ok: false,
      problem: "broken_link",
      firstBadSeq: 101,
    });
  });

  it("accepts an async source and ignores extra properties, and an empty chain is valid", async () => {
    async function* stream() {
      for (const event of events) yield { ...event, exportedBy: "test" };
    }
    expect(await verifyChain(stream())).toMatchObject({ ok: true, count: events.length });
    expect(await verifyChain([])).toStrictEqual({ ok: true, count: 0, headSeq: 0, headHash: GENESIS_HASH });
  });

  it("treats a malformed event as not matching its hash", async () => {
    const broken = { ...events[0]!, actor: undefined } as unknown as AuditEvent;
    expect(await verifyChain([broken])).toMatchObject({ ok: false, problem: "hash_mismatch", firstBadSeq: 1 });
  });
});
