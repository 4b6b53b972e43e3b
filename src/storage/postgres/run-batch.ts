// Commits one batch of change sets in one PostgreSQL transaction: the writes first, then the audit head, locked only
// for the tail (chain the events after it, insert them, move it, COMMIT). Several batches of one process, and the
// batches of every replica, write side by side and queue only for that tail, so the whole cluster still appends to one
// contiguous chain, in commit order. A failing change set fails alone; the others commit.
import type { PoolClient, QueryResult } from "pg";
import type { AuditEvent, ChainHead } from "../../domain/index.js";
import { AUDIT_COLUMNS, eventToRow } from "../sql/audit-rows.js";
import { type BatchOutcome, type BatchStats, chainChangeSet, failBatch, type Job, settleBatch } from "../sql/batch.js";
import { ConflictError } from "../store.js";
import { applyWrites } from "./apply-change-set.js";
import { sqlState } from "./connection.js";
import { applyFused, fusable } from "./fused-writes.js";
import { INSERT_EVENTS_SQL, SQL } from "./statements.js";

export type PgBatchStats = BatchStats;
type Outcome = BatchOutcome;

/** SQLSTATEs after which the same batch may simply run again: a deadlock with another batch, a serialization failure. */
const RETRYABLE = new Set(["40P01", "40001"]);

/**
 * BEGIN; apply every change set; lock the head row; chain the events after it; insert them; move the head; COMMIT.
 * Callers hear "done" only after COMMIT. When the commit's outcome is unknown (the connection died during COMMIT)
 * every caller is told the store is unavailable: the safe reading, since nothing is handed out on a failed write.
 */
export async function runBatch(client: PoolClient, batch: readonly Job[], stats: PgBatchStats): Promise<void> {
  let outcomes: Outcome[];
  try {
    outcomes = await attempt(client, batch).catch(async (error: unknown) => {
      // Two batches that lock the same rows in another order: PostgreSQL ends one; it runs again, alone in its turn.
      if (!RETRYABLE.has(sqlState(error) ?? "")) throw error;
      await client.query("ROLLBACK");
      return attempt(client, batch);
    });
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    failBatch(batch, error);
    // The caller's client wrapper discards a connection that failed this way.
    if (sqlState(error) === null) throw error;
    return;
  }
  settleBatch(outcomes, batch.length, stats);
}

async function attempt(client: PoolClient, batch: readonly Job[]): Promise<Outcome[]> {
  // Change sets whose events cannot be chained (data that is not JSON) fail alone; the rest runs again without them.
  const refused: Outcome[] = [];
  let jobs = batch;
  for (;;) {
    await client.query("BEGIN");
    // Almost every batch applies cleanly, so it first runs without a savepoint per change set. If one fails, the
    // transaction is rolled back and the batch runs again with savepoints, so the failing set fails alone.
    let applied = await applyAll(client, jobs);
    if (applied === null) {
      await client.query("ROLLBACK");
      await client.query("BEGIN");
      applied = await applyEachInSavepoint(client, jobs);
    }
    const head = await lockHead(client);
    const outcomes: Outcome[] = [];
    const unchainable: Outcome[] = [];
    const events: AuditEvent[] = [];
    let last = head;
    for (const { job, error } of applied) {
      if (error !== undefined) {
        outcomes.push({ job, error });
        continue;
      }
      try {
        const chained = chainChangeSet(job.input, last);
        last = chained.head;
        events.push(...chained.events);
        outcomes.push({ job, events: chained.events });
      } catch (chainError) {
        unchainable.push({ job, error: chainError });
      }
    }
    if (unchainable.length > 0) {
      await client.query("ROLLBACK");
      refused.push(...unchainable);
      jobs = jobs.filter((job) => !unchainable.some((u) => u.job === job));
      continue;
    }
    await insertEvents(client, events);
    await moveHeadAndCommit(client, events.length === 0 ? null : last);
    return [...outcomes, ...refused];
  }
}

/** The head row, locked until COMMIT: from here on this transaction is the only one appending to the chain. */
async function lockHead(client: PoolClient): Promise<ChainHead> {
  const result = (await client.query(SQL.headForUpdate)) as QueryResult<{ seq: number; hash: string }>;
  const row = result.rows[0];
  if (!row) throw new Error("audit_head has no row: the schema is damaged");
  return { seq: row.seq, hash: row.hash };
}

/**
 * Moves the head and commits in one round trip. The values are the chain's own (an integer this process counted and a
 * SHA-256 it computed), checked for shape before they are written into the statement text; no caller input is.
 */
async function moveHeadAndCommit(client: PoolClient, head: ChainHead | null): Promise<void> {
  if (head === null) {
    await client.query("COMMIT");
    return;
  }
  if (!Number.isSafeInteger(head.seq) || !/^[0-9a-f]{64}$/.test(head.hash)) {
    throw new Error("refusing to write a malformed audit head");
  }
  await client.query(`UPDATE audit_head SET seq = ${head.seq}, hash = '${head.hash}' WHERE id = 1; COMMIT`);
}

/** All the events in one statement: a column per parameter (see fused-writes.ts), a named statement per connection. */
async function insertEvents(client: PoolClient, events: readonly AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((event) => eventToRow(event) as unknown as Record<string, unknown>);
  const values = AUDIT_COLUMNS.map((column) => rows.map((row) => row[column] ?? null));
  await client.query({ name: "eph_insert_events", text: INSERT_EVENTS_SQL, values });
}

/** Each change set of the batch and whether its writes applied (error undefined) or failed with `error`. */
type Applied = readonly { readonly job: Job; readonly error?: unknown }[];

/**
 * Every change set's writes in the open transaction; null when one fails. The writes of the whole batch go as one
 * statement per kind when no row is written twice (the common case), else one by one.
 */
async function applyAll(client: PoolClient, batch: readonly Job[]): Promise<Applied | null> {
  try {
    const writes = batch.flatMap((job) => job.input.writes);
    if (fusable(writes)) {
      if (!(await applyFused(client, writes, (write) => applyWrites(client, [write])))) return null;
    } else {
      for (const job of batch) await applyWrites(client, job.input.writes);
    }
  } catch (error) {
    if (isStorageFailure(error)) throw error;
    return null;
  }
  return batch.map((job) => ({ job }));
}

async function applyEachInSavepoint(client: PoolClient, batch: readonly Job[]): Promise<Applied> {
  const applied: { job: Job; error?: unknown }[] = [];
  for (const job of batch) {
    await client.query("SAVEPOINT change_set");
    try {
      await applyWrites(client, job.input.writes);
      await client.query("RELEASE SAVEPOINT change_set");
      applied.push({ job });
    } catch (error) {
      if (isStorageFailure(error)) throw error;
      await client.query("ROLLBACK TO SAVEPOINT change_set");
      await client.query("RELEASE SAVEPOINT change_set");
      applied.push({ job, error });
    }
  }
  return applied;
}

/**
 * The database or the connection failing (as opposed to this change set being wrong): the whole batch fails and
 * every caller hears "unavailable". A change set's own fault is a conflict, a JSON/type error raised before any SQL,
 * or an integrity or data error (SQLSTATE classes 23 and 22) from its rows.
 */
function isStorageFailure(error: unknown): boolean {
  if (error instanceof ConflictError || error instanceof TypeError) return false;
  const state = sqlState(error);
  if (state === null) return true;
  return !(state.startsWith("23") || state.startsWith("22"));
}
