// Runs one change set's writes and appends its audit events, inside the caller's savepoint. Synchronous by design.
import Database from "better-sqlite3";
import type { AuditEvent, ChainHead } from "../../domain/index.js";
import { eventToRow } from "../sql/audit-rows.js";
import { chainChangeSet } from "../sql/batch.js";
import { duplicate, planWrite } from "../sql/write-plan.js";
import type { ChangeSet, Write } from "../store.js";
import type { Statements } from "./statements.js";

/**
 * Applies the writes, then chains and inserts the audit events after `head`.
 * Throws ConflictError on a stale version or a duplicate id; the caller rolls the savepoint back.
 */
export function applyChangeSet(
  s: Statements,
  changes: ChangeSet,
  head: ChainHead,
): { events: AuditEvent[]; head: ChainHead } {
  for (const write of changes.writes) applyWrite(s, write);
  const chained = chainChangeSet(changes, head);
  for (const event of chained.events) s.insertEvent.run(eventToRow(event));
  return chained;
}

function applyWrite(s: Statements, write: Write): void {
  const step = planWrite(write);
  const statement = s.writes[step.statement];
  const changes =
    step.creates === null
      ? statement.run(step.params).changes
      : insertOnce(() => statement.run(step.params), step.creates);
  if (changes === 0 && step.unchanged !== null) throw step.unchanged();
}

/** A second insert of the same id is a conflict (two workers raced to create it), not a storage failure. */
function insertOnce(run: () => Database.RunResult, what: string): number {
  try {
    return run().changes;
  } catch (error) {
    if (
      error instanceof Database.SqliteError &&
      (error.code === "SQLITE_CONSTRAINT_PRIMARYKEY" || error.code === "SQLITE_CONSTRAINT_UNIQUE")
    ) {
      throw duplicate(what);
    }
    throw error;
  }
}
