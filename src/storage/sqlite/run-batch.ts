// Commits one batch of queued change sets: one transaction and one fsync; a failing change set fails alone.
import Database from "better-sqlite3";
import { type ChainHead, GENESIS_HASH } from "../../domain/index.js";
import { type BatchOutcome, type BatchStats, failBatch, type Job, settleBatch } from "../sql/batch.js";
import { ConflictError, StoreUnavailableError } from "../store.js";
import { applyChangeSet } from "./apply-change-set.js";
import type { Statements } from "./statements.js";

type Outcome = BatchOutcome;

/**
 * Runs the batch without awaiting between BEGIN and COMMIT, so no other code in this process can observe a
 * half-applied batch. A failing change set rolls back to its savepoint and fails alone; the others commit.
 * The chain head is read under the write lock (BEGIN IMMEDIATE), so a second process on the same file cannot
 * fork the chain. Callers are settled only after COMMIT: nobody hears "done" for data that is not durable.
 */
export function runBatch(db: Database.Database, s: Statements, batch: readonly Job[], stats: BatchStats): void {
  let outcomes: Outcome[];
  try {
    s.begin.run();
    const head: ChainHead = s.auditHead.get() ?? { seq: 0, hash: GENESIS_HASH };
    // Almost every batch applies cleanly, so it first runs without a savepoint per change set (two statements
    // each). If any set fails, the whole transaction is rolled back and the batch runs again with savepoints,
    // so the failing set fails alone.
    const clean = applyAll(s, batch, head);
    if (clean === null) {
      if (db.inTransaction) s.rollback.run();
      s.begin.run();
      outcomes = applyEachInSavepoint(db, s, batch, s.auditHead.get() ?? { seq: 0, hash: GENESIS_HASH });
    } else {
      outcomes = clean;
    }
    s.commit.run();
  } catch (error) {
    if (db.open && db.inTransaction) db.exec("ROLLBACK");
    failBatch(batch, error);
    return;
  }
  settleBatch(outcomes, batch.length, stats);
}

/** Applies every change set in the open transaction; null (transaction left to roll back) when one fails. */
function applyAll(s: Statements, batch: readonly Job[], start: ChainHead): Outcome[] | null {
  const outcomes: Outcome[] = [];
  let head = start;
  for (const job of batch) {
    try {
      const applied = applyChangeSet(s, job.input, head);
      head = applied.head;
      outcomes.push({ job, events: applied.events });
    } catch {
      return null;
    }
  }
  return outcomes;
}

function applyEachInSavepoint(
  db: Database.Database,
  s: Statements,
  batch: readonly Job[],
  start: ChainHead,
): Outcome[] {
  const outcomes: Outcome[] = [];
  let head = start;
  for (const job of batch) {
    s.savepoint.run();
    try {
      const applied = applyChangeSet(s, job.input, head);
      s.release.run();
      head = applied.head;
      outcomes.push({ job, events: applied.events });
    } catch (error) {
      // Disk full or an I/O error may roll back the whole transaction: then nothing in the batch is written.
      if (!db.inTransaction) throw error;
      s.rollbackTo.run();
      s.release.run();
      outcomes.push({ job, error: classify(error) });
    }
  }
  return outcomes;
}

/** A failed change set keeps its own error unless it is the storage failing, which callers treat as "try later". */
function classify(error: unknown): unknown {
  if (error instanceof ConflictError) return error;
  if (error instanceof Database.SqliteError && !error.code.startsWith("SQLITE_CONSTRAINT")) {
    return new StoreUnavailableError("the store could not apply the change set", { cause: error });
  }
  return error;
}
