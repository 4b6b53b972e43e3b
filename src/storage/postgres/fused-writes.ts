// A whole batch's writes in a handful of statements (one per kind of write) instead of one round trip per write:
// what keeps the shared store's throughput when each round trip to PostgreSQL costs a fraction of a millisecond.
import type { PoolClient } from "pg";
import { stateParams } from "../sqlite/apply-change-set.js";
import { type GrantRow, grantToRow, type RequestRow, requestToRow } from "../sqlite/rows.js";
import { GRANT_COLUMNS, REQUEST_COLUMNS } from "../sqlite/statements.js";
import type { Write } from "../store.js";

/** PostgreSQL type of every column, for the casts a VALUES list needs; the record literal keeps it in step with the rows. */
const REQUEST_TYPES: { [K in keyof RequestRow]: string } = {
  id: "text",
  identity_id: "text",
  entitlement: "text",
  target_id: "text",
  duration_seconds: "int",
  justification: "text",
  ticket: "text",
  intent: "text",
  break_glass: "smallint",
  state: "text",
  decision: "text",
  grant_id: "text",
  state_reason: "text",
  created_at: "bigint",
  updated_at: "bigint",
  version: "int",
};

const GRANT_TYPES: { [K in keyof GrantRow]: string } = {
  id: "text",
  request_id: "text",
  identity_id: "text",
  target_id: "text",
  entitlement: "text",
  connector_type: "text",
  handle: "text",
  handle_data: "text",
  state: "text",
  created_at: "bigint",
  issued_at: "bigint",
  expires_at: "bigint",
  max_expires_at: "bigint",
  renewals: "int",
  end_reason: "text",
  ended_at: "bigint",
  ended_by: "text",
  attempts: "int",
  last_error: "text",
  revoked_at: "bigint",
  verified_at: "bigint",
  evidence: "text",
  due_at: "bigint",
  version: "int",
};

/**
 * True when no row is written twice in the batch: then the order of writes inside it does not matter, and writes of
 * one kind may run as one statement. Otherwise (a grant updated twice, a key put then deleted) the batch runs write by
 * write.
 */
export function fusable(writes: readonly Write[]): boolean {
  const touched = new Set<string>();
  for (const write of writes) {
    let key: string;
    switch (write.kind) {
      case "insertRequest":
      case "updateRequest":
        key = `r\n${write.request.id}`;
        break;
      case "insertGrant":
      case "updateGrant":
        key = `g\n${write.grant.id}`;
        break;
      default:
        key = `s\n${write.namespace}\n${write.key}`;
    }
    if (touched.has(key)) return false;
    touched.add(key);
  }
  return true;
}

type Rows = Record<string, unknown>[];

function placeholders(rows: Rows, columns: readonly string[], types: Record<string, string> | null, values: unknown[]) {
  return rows
    .map((row) => {
      const cells = columns.map((c) => {
        values.push(row[c]);
        return types ? `$${values.length}::${types[c]}` : `$${values.length}`;
      });
      return `(${cells.join(", ")})`;
    })
    .join(", ");
}

async function insertMany(client: PoolClient, table: string, columns: readonly string[], rows: Rows): Promise<void> {
  if (rows.length === 0) return;
  const values: unknown[] = [];
  const list = placeholders(rows, columns, null, values);
  await client.query(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${list}`, values);
}

/** One UPDATE … FROM (VALUES …) guarded by each row's expected version; false when any row was stale or missing. */
async function updateMany(
  client: PoolClient,
  table: string,
  columns: readonly string[],
  types: Record<string, string>,
  rows: Rows,
): Promise<boolean> {
  if (rows.length === 0) return true;
  const values: unknown[] = [];
  const all = [...columns, "expected_version"];
  const list = placeholders(rows, all, { ...types, expected_version: "int" }, values);
  const set = columns.filter((c) => c !== "id").map((c) => `${c} = v.${c}`);
  const result = await client.query(
    `UPDATE ${table} AS t SET ${set.join(", ")} FROM (VALUES ${list}) AS v (${all.join(", ")})
     WHERE t.id = v.id AND t.version = v.expected_version`,
    values,
  );
  return result.rowCount === rows.length;
}

/**
 * Runs every write of the batch, grouped by kind: request and grant inserts, then updates, then state. Returns false
 * when a version check failed (the caller rolls back and replays the batch change set by change set, so only the stale
 * one fails); throws what PostgreSQL throws otherwise. Insert-once and compare-and-set writes, rare, run one by one.
 */
export async function applyFused(
  client: PoolClient,
  writes: readonly Write[],
  applyOne: (write: Write) => Promise<void>,
): Promise<boolean> {
  const rows = {
    insertRequest: [] as Rows,
    insertGrant: [] as Rows,
    updateRequest: [] as Rows,
    updateGrant: [] as Rows,
    putState: [] as Rows,
    deleteState: [] as Rows,
  };
  const oneByOne: Write[] = [];
  for (const w of writes) {
    switch (w.kind) {
      case "insertRequest":
        rows.insertRequest.push(requestToRow(w.request) as unknown as Record<string, unknown>);
        break;
      case "insertGrant":
        rows.insertGrant.push(grantToRow(w.grant) as unknown as Record<string, unknown>);
        break;
      case "updateRequest":
        rows.updateRequest.push({ ...requestToRow(w.request), expected_version: w.expectedVersion });
        break;
      case "updateGrant":
        rows.updateGrant.push({ ...grantToRow(w.grant), expected_version: w.expectedVersion });
        break;
      case "putState":
        rows.putState.push(stateParams(w));
        break;
      case "deleteState":
        rows.deleteState.push({ namespace: w.namespace, key: w.key });
        break;
      default:
        oneByOne.push(w);
    }
  }
  await insertMany(client, "requests", REQUEST_COLUMNS, rows.insertRequest);
  await insertMany(client, "grants", GRANT_COLUMNS, rows.insertGrant);
  if (!(await updateMany(client, "requests", REQUEST_COLUMNS, REQUEST_TYPES, rows.updateRequest))) return false;
  if (!(await updateMany(client, "grants", GRANT_COLUMNS, GRANT_TYPES, rows.updateGrant))) return false;
  if (rows.putState.length > 0) {
    const values: unknown[] = [];
    const list = placeholders(rows.putState, ["namespace", "key", "value", "expires_at"], null, values);
    await client.query(
      `INSERT INTO connector_state (namespace, key, value, expires_at) VALUES ${list}
       ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
      values,
    );
  }
  if (rows.deleteState.length > 0) {
    const values: unknown[] = [];
    const list = placeholders(rows.deleteState, ["namespace", "key"], { namespace: "text", key: "text" }, values);
    await client.query(`DELETE FROM connector_state WHERE (namespace, key) IN (VALUES ${list})`, values);
  }
  for (const w of oneByOne) await applyOne(w);
  return true;
}
