// A short write transaction outside the group-commit queue, for writes that carry no audit event (sightings, usage,
// notification leases). Synchronous between BEGIN and COMMIT, so it never interleaves with a group-commit batch.
import type Database from "better-sqlite3";
import { StoreUnavailableError } from "../store.js";
import type { Statements } from "./statements.js";

/** Runs `work` in its own transaction; any failure rolls it back and is the store being unavailable. */
export function writeNow<T>(db: Database.Database, s: Statements, failure: string, work: () => T): T {
  s.begin.run();
  try {
    const result = work();
    s.commit.run();
    return result;
  } catch (error) {
    if (db.inTransaction) s.rollback.run();
    throw new StoreUnavailableError(failure, { cause: error });
  }
}
