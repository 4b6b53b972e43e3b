// Commits one batch of change sets in one PostgreSQL transaction that holds the audit head: the whole cluster of
// replicas appends to one contiguous chain. A failing change set fails alone; the others commit.
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

/**
 * BEGIN; lock the head row; apply every change set and chain its events after the head; move the head; COMMIT.
 * Callers hear "done" only after COMMIT. When the commit's outcome is unknown (the connection died during COMMIT)
 * every caller is told the store is unavailable: the safe reading, since nothing is handed out on a failed write.
 */
export async function runBatch(client: PoolClient, batch: readonly Job[], stats: PgBatchStats): Promise<void> {
  let outcomes: Outcome[];
  try {
    let head = await beginAndLockHead(client);
    // Almost every batch applies cleanly, so it first runs without a savepoint per change set. If one fails, the
    // transaction is rolled back and the batch runs again with savepoints, so the failing set fails alone.
    const clean = await applyAll(client, batch, head);
    if (clean === null) {
      await client.query("ROLLBACK");
      head = await beginAndLockHead(client);
      outcomes = await applyEachInSavepoint(client, batch, head);
    } else {
      outcomes = clean;
    }
    await moveHeadAndCommit(client, lastHead(outcomes));
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    failBatch(batch, error);
    // The caller's client wrapper discards a connection that failed this way.
    if (sqlState(error) === null) throw error;
    return;
  }
  settleBatch(outcomes, batch.length, stats);
}

/** BEGIN and the head lock in one round trip (simple protocol: no parameters, nothing but constant text). */
async function beginAndLockHead(client: PoolClient): Promise<ChainHead> {
  const results = (await client.query(`BEGIN; ${SQL.headForUpdate}`)) as unknown as QueryResult<{
    seq: number;
    hash: string;
  }>[];
  const row = results.at(-1)?.rows[0];
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

/**
 * Every change set in the open transaction, then all their events in as few INSERTs as fit; null when one fails. The
 * writes of the whole batch go as one statement per kind when no row is written twice (the common case), else one by one.
 */
async function applyAll(client: PoolClient, batch: readonly Job[], start: ChainHead): Promise<Outcome[] | null> {
  const outcomes: Outcome[] = [];
  const events: AuditEvent[] = [];
  let head = start;
  try {
    for (const job of batch) {
      const chained = chainChangeSet(job.input, head);
      head = chained.head;
      events.push(...chained.events);
      outcomes.push({ job, events: chained.events });
    }
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
  await insertEvents(client, events);
  return outcomes;
}

async function applyEachInSavepoint(client: PoolClient, batch: readonly Job[], start: ChainHead): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let head = start;
  for (const job of batch) {
    await client.query("SAVEPOINT change_set");
    try {
      await applyWrites(client, job.input.writes);
      const chained = chainChangeSet(job.input, head);
      await insertEvents(client, chained.events);
      await client.query("RELEASE SAVEPOINT change_set");
      head = chained.head;
      outcomes.push({ job, events: chained.events });
    } catch (error) {
      if (isStorageFailure(error)) throw error;
      await client.query("ROLLBACK TO SAVEPOINT change_set");
      await client.query("RELEASE SAVEPOINT change_set");
      outcomes.push({ job, error });
    }
  }
  return outcomes;
}

function lastHead(outcomes: readonly Outcome[]): ChainHead | null {
  for (let i = outcomes.length - 1; i >= 0; i--) {
    const outcome = outcomes[i]!;
    if ("events" in outcome && outcome.events.length > 0) {
      const event = outcome.events.at(-1)!;
      return { seq: event.seq, hash: event.hash };
    }
  }
  return null;
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
