// A whole batch's writes in a handful of statements (one per kind of write) instead of one round trip per write:
// what keeps the shared store's throughput when each round trip to PostgreSQL costs a fraction of a millisecond.
import type { PoolClient } from "pg";
import { GRANT_COLUMNS, GRANT_UPDATE_COLUMNS, type GrantRow, grantToRow } from "../sql/grant-rows.js";
import { REQUEST_COLUMNS, type RequestRow, requestToRow } from "../sql/request-rows.js";
import { stateParams } from "../sql/state-rows.js";
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
  revision: "int",
  approvals: "text",
  due_at: "bigint",
  review: "text",
  review_due_at: "bigint",
  facts: "text",
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
  first_used_at: "bigint",
  last_used_at: "bigint",
  unused: "smallint",
  receipt: "text",
};

/**
 * True when no row is written twice in the batch: then the order of writes inside it does not matter, and writes of
 * one kind may run as one statement. Otherwise (a grant updated twice, a key put then deleted) the batch runs write by
 * write.
 */
export function fusable(writes: readonly Write[]): boolean {
  const touched = new Set<string>();
  // Asserting an identity many times is fine; asserting one the batch also writes depends on the order: one by one.
  const asserted = new Set<string>();
  for (const write of writes) {
    let key: string;
    switch (write.kind) {
      case "assertIdentityActive":
        key = `i\n${write.identityId}`;
        if (touched.has(key) && !asserted.has(key)) return false;
        asserted.add(key);
        touched.add(key);
        continue;
      case "insertRequest":
      case "updateRequest":
        key = `r\n${write.request.id}`;
        break;
      case "insertGrant":
      case "updateGrant":
        key = `g\n${write.grant.id}`;
        break;
      case "insertIdentity":
      case "updateIdentity":
        key = `i\n${write.identity.id}`;
        break;
      case "insertNotification":
      case "settleNotification":
        key = `n\n${write.notification.id}`;
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

/**
 * `unnest($1::text[], $2::bigint[], …) AS v (col, …)`: a whole column per parameter, so the statement text is the same
 * whatever the batch size (PostgreSQL parses and plans it once per connection, as a named statement).
 */
function unnest(columns: readonly string[], types: Record<string, string>): string {
  return `unnest(${columns.map((c, i) => `$${i + 1}::${types[c]}[]`).join(", ")}) AS v (${columns.join(", ")})`;
}

function columnsOf(rows: Rows, columns: readonly string[]): unknown[][] {
  return columns.map((c) => rows.map((row) => row[c] ?? null));
}

const STATE_TYPES: Record<string, string> = { namespace: "text", key: "text", value: "text", expires_at: "bigint" };
const STATE_COLUMNS = ["namespace", "key", "value", "expires_at"] as const;

function insertSql(table: string, columns: readonly string[], types: Record<string, string>): string {
  return `INSERT INTO ${table} (${columns.join(", ")}) SELECT ${columns.join(", ")} FROM ${unnest(columns, types)}`;
}

function updateSql(table: string, columns: readonly string[], types: Record<string, string>): string {
  const all = [...columns, "expected_version"];
  const set = columns.filter((c) => c !== "id").map((c) => `${c} = v.${c}`);
  return `UPDATE ${table} AS t SET ${set.join(", ")} FROM ${unnest(all, { ...types, expected_version: "int" })}
    WHERE t.id = v.id AND t.version = v.expected_version`;
}

const FUSED = {
  insertRequests: { name: "eph_insert_requests", text: insertSql("requests", REQUEST_COLUMNS, REQUEST_TYPES) },
  insertGrants: { name: "eph_insert_grants", text: insertSql("grants", GRANT_COLUMNS, GRANT_TYPES) },
  updateRequests: { name: "eph_update_requests", text: updateSql("requests", REQUEST_COLUMNS, REQUEST_TYPES) },
  updateGrants: { name: "eph_update_grants", text: updateSql("grants", GRANT_UPDATE_COLUMNS, GRANT_TYPES) },
  putStates: {
    name: "eph_put_states",
    text: `INSERT INTO connector_state (namespace, key, value, expires_at)
      SELECT namespace, key, value, expires_at FROM ${unnest(STATE_COLUMNS, STATE_TYPES)}
      ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
  },
  assertIdentities: {
    name: "eph_assert_identities",
    text: `SELECT i.id FROM identities AS i JOIN unnest($1::text[], $2::int[]) AS v (id, version)
      ON i.id = v.id AND i.version = v.version WHERE i.status = 'active' FOR SHARE OF i`,
  },
  deleteStates: {
    name: "eph_delete_states",
    text: `DELETE FROM connector_state AS s USING ${unnest(["namespace", "key"], STATE_TYPES)}
      WHERE s.namespace = v.namespace AND s.key = v.key`,
  },
} as const;

/** Runs one of the fused statements over `rows`; resolves how many rows it changed. */
async function fused(
  client: PoolClient,
  statement: { name: string; text: string },
  columns: readonly string[],
  rows: Rows,
): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await client.query({ name: statement.name, text: statement.text, values: columnsOf(rows, columns) });
  return result.rowCount ?? 0;
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
  const asserted = new Map<string, number>();
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
      case "assertIdentityActive":
        // The same identity asserted at two versions cannot both hold: the count below then falls short.
        asserted.set(`${w.identityId}\n${w.version}`, w.version);
        break;
      default:
        oneByOne.push(w);
    }
  }
  if (asserted.size > 0) {
    const ids = [...asserted.keys()].map((k) => k.split("\n")[0]!);
    const held = await client.query({
      name: FUSED.assertIdentities.name,
      text: FUSED.assertIdentities.text,
      values: [ids, [...asserted.values()]],
    });
    if ((held.rowCount ?? 0) !== asserted.size) return false;
  }
  await fused(client, FUSED.insertRequests, REQUEST_COLUMNS, rows.insertRequest);
  await fused(client, FUSED.insertGrants, GRANT_COLUMNS, rows.insertGrant);
  const withExpected = (columns: readonly string[]) => [...columns, "expected_version"];
  const requests = await fused(client, FUSED.updateRequests, withExpected(REQUEST_COLUMNS), rows.updateRequest);
  if (requests !== rows.updateRequest.length) return false;
  const grants = await fused(client, FUSED.updateGrants, withExpected(GRANT_UPDATE_COLUMNS), rows.updateGrant);
  if (grants !== rows.updateGrant.length) return false;
  await fused(client, FUSED.putStates, STATE_COLUMNS, rows.putState);
  await fused(client, FUSED.deleteStates, ["namespace", "key"], rows.deleteState);
  for (const w of oneByOne) await applyOne(w);
  return true;
}
