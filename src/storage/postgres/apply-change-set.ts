// Runs one change set's writes on an open PostgreSQL transaction; the caller chains and inserts its audit events.
import type { PoolClient } from "pg";
import { duplicate, planWrite } from "../sql/write-plan.js";
import type { Write } from "../store.js";
import { sqlState } from "./connection.js";
import { bind } from "./sql.js";
import { WRITES } from "./statements.js";

/** Applies the writes in order. Throws ConflictError on a stale version, a duplicate id or a state condition. */
export async function applyWrites(client: PoolClient, writes: readonly Write[]): Promise<void> {
  for (const write of writes) await applyWrite(client, write);
}

async function applyWrite(client: PoolClient, write: Write): Promise<void> {
  const step = planWrite(write);
  const sql = WRITES[step.statement];
  const run = async () => (await client.query(sql.text, bind(sql, step.params))).rowCount ?? 0;
  const changed = step.creates === null ? await run() : await insertOnce(run, step.creates);
  if (changed === 0 && step.unchanged !== null) throw step.unchanged();
}

/** A second insert of the same id is a conflict (two workers raced to create it), not a storage failure. */
async function insertOnce(run: () => Promise<number>, what: string): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (sqlState(error) === "23505") throw duplicate(what);
    throw error;
  }
}
