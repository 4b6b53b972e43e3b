// Every SQL statement the PostgreSQL store runs. Column lists and the state and lease upserts are SQLite's, so both
// stores read and write the same rows by the same conditions.
import {
  ACQUIRE_LEASE_SQL,
  AUDIT_COLUMNS,
  GRANT_COLUMNS,
  GRANT_REPORT_SQL,
  GRANT_UPDATE_COLUMNS,
  IDENTITY_COLUMNS,
  IDENTITY_SELECT,
  IDENTITY_UPDATE_COLUMNS,
  INSERT_STATE_ONCE_SQL,
  NOTIFICATION_COLUMNS,
  NOTIFICATION_SELECT,
  PRIVILEGE_AT_RANK_SQL,
  REQUEST_COLUMNS,
  REQUEST_SELECT,
} from "../sqlite/statements.js";
import { compile } from "./sql.js";

const list = (cols: readonly string[]) => cols.join(", ");
const GRANT_SELECT = `SELECT ${list(GRANT_COLUMNS)} FROM grants`;

function insertSql(table: string, cols: readonly string[]): string {
  return `INSERT INTO ${table} (${list(cols)}) VALUES (${cols.map((c) => `@${c}`).join(", ")})`;
}

function updateSql(table: string, cols: readonly string[]): string {
  const set = cols.filter((c) => c !== "id").map((c) => `${c} = @${c}`);
  return `UPDATE ${table} SET ${set.join(", ")} WHERE id = @id AND version = @expected_version`;
}

export const AUDIT_COLUMN_LIST = AUDIT_COLUMNS;

export const SQL = {
  insertRequest: compile(insertSql("requests", REQUEST_COLUMNS)),
  updateRequest: compile(updateSql("requests", REQUEST_COLUMNS)),
  getRequest: `SELECT ${list(REQUEST_COLUMNS)} FROM requests WHERE id = $1`,
  requestSelect: REQUEST_SELECT,
  dueRequests: `${REQUEST_SELECT} WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at LIMIT $2`,
  countOverdueReviews: "SELECT count(*) AS n FROM requests WHERE review_due_at IS NOT NULL AND review_due_at <= $1",

  insertNotification: compile(insertSql("notifications", NOTIFICATION_COLUMNS)),
  settleNotification: compile(`UPDATE notifications SET state = @state, attempts = @attempts,
    next_attempt_at = @next_attempt_at, last_error = @last_error, delivered_at = @delivered_at WHERE id = @id`),
  notificationSelect: NOTIFICATION_SELECT,
  // SKIP LOCKED: notifications another replica is claiming right now are left to it, never delivered twice at once.
  claimNotifications: `WITH due AS (
      SELECT id, next_attempt_at FROM notifications WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= $1
      ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
    UPDATE notifications AS n SET next_attempt_at = $3 FROM due WHERE n.id = due.id
    RETURNING ${NOTIFICATION_COLUMNS.map((c) => `n.${c}`).join(", ")}, due.next_attempt_at AS claimed_due`,
  insertGrant: compile(insertSql("grants", GRANT_COLUMNS)),
  updateGrant: compile(updateSql("grants", GRANT_UPDATE_COLUMNS)),
  getGrant: `${GRANT_SELECT} WHERE id = $1`,
  grantSelect: GRANT_SELECT,
  dueGrants: `${GRANT_SELECT} WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at LIMIT $2`,
  // SKIP LOCKED: rows another replica is claiming right now are left to it, never waited for.
  claimDue: `WITH due AS (
      SELECT id, due_at FROM grants WHERE due_at IS NOT NULL AND due_at <= $1
      ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED)
    UPDATE grants AS g SET due_at = $3, version = g.version + 1 FROM due WHERE g.id = due.id
    RETURNING ${GRANT_COLUMNS.map((c) => `g.${c}`).join(", ")}, due.due_at AS claimed_due`,
  pruneGrants: `DELETE FROM grants WHERE id IN (SELECT id FROM grants WHERE id < $2 AND state = 'verified'
      AND ended_at < $1 ORDER BY id LIMIT $3) RETURNING id`,
  pruneRequests: `DELETE FROM requests WHERE id IN (SELECT r.id FROM requests r WHERE r.id < $2
      AND r.state IN ('issued', 'denied', 'cancelled', 'timed_out', 'failed') AND r.updated_at < $1
      AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.request_id = r.id) ORDER BY r.id LIMIT $3) RETURNING id`,
  releaseClaims: `UPDATE grants SET due_at = expires_at, version = version + 1
    WHERE due_at IS NOT NULL AND due_at > expires_at AND state = 'active' RETURNING id`,
  nextDueAt: "SELECT min(due_at) AS due FROM grants WHERE due_at IS NOT NULL",
  grantsInStates: `${GRANT_SELECT} WHERE state = ANY($1::text[]) ORDER BY id LIMIT $2`,
  countByState: "SELECT state, count(*) AS n FROM grants GROUP BY state",
  countActive: `SELECT target_id AS "targetId", entitlement, count(*) AS count FROM grants WHERE state = 'active'
    GROUP BY target_id, entitlement ORDER BY target_id, entitlement`,

  insertIdentity: compile(insertSql("identities", IDENTITY_COLUMNS)),
  updateIdentity: compile(updateSql("identities", IDENTITY_UPDATE_COLUMNS)),
  getIdentity: `${IDENTITY_SELECT} WHERE id = $1`,
  identitySelect: IDENTITY_SELECT,
  // One statement for a batch of sightings; last seen only moves forward, first seen is set once.
  markSeen: `UPDATE identities AS i SET first_seen_at = coalesce(i.first_seen_at, v.at),
      last_seen_at = greatest(coalesce(i.last_seen_at, v.at), v.at)
    FROM unnest($1::text[], $2::bigint[]) AS v (id, at) WHERE i.id = v.id`,

  markGrantsUsed: `UPDATE grants AS g SET first_used_at = least(coalesce(g.first_used_at, v.first), v.first),
      last_used_at = greatest(coalesce(g.last_used_at, v.last), v.last)
    FROM (SELECT id, min(at) AS first, max(at) AS last FROM unnest($1::text[], $2::bigint[]) AS u (id, at)
      GROUP BY id) AS v
    WHERE g.id = v.id`,
  grantReport: compile(GRANT_REPORT_SQL.replaceAll("@now", "@now::bigint")),
  privilegeAtRank: compile(PRIVILEGE_AT_RANK_SQL),

  headForUpdate: "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
  auditHead: "SELECT seq, hash FROM audit_head WHERE id = 1",
  listAudit: `SELECT ${list(AUDIT_COLUMNS)} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`,
  auditForGrant: `SELECT ${list(AUDIT_COLUMNS)} FROM audit_events WHERE grant_id = $1 ORDER BY seq LIMIT $2`,
  auditForRequest: `SELECT ${list(AUDIT_COLUMNS)} FROM audit_events WHERE request_id = $1 ORDER BY seq LIMIT $2`,
  auditForEither: `SELECT ${list(AUDIT_COLUMNS)} FROM audit_events WHERE grant_id = $1 OR request_id = $2
    ORDER BY seq LIMIT $3`,

  putApiKey: `INSERT INTO api_keys (key_id, identity_id, hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (key_id) DO UPDATE SET identity_id = excluded.identity_id, hash = excluded.hash,
      created_at = excluded.created_at, revoked_at = excluded.revoked_at`,
  findApiKey: "SELECT key_id, identity_id, hash, created_at, revoked_at FROM api_keys WHERE key_id = $1",

  putState: `INSERT INTO connector_state (namespace, key, value, expires_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
  insertStateOnce: compile(INSERT_STATE_ONCE_SQL),
  insertStateIfAbsent: `INSERT INTO connector_state (namespace, key, value, expires_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (namespace, key) DO NOTHING`,
  replaceStateIf: `UPDATE connector_state SET value = $3, expires_at = $4
    WHERE namespace = $1 AND key = $2 AND value = $5`,
  deleteState: "DELETE FROM connector_state WHERE namespace = $1 AND key = $2",
  getState: "SELECT key, value, expires_at FROM connector_state WHERE namespace = $1 AND key = $2",
  listState: "SELECT key, value, expires_at FROM connector_state WHERE namespace = $1 ORDER BY key",
  purgeState: "DELETE FROM connector_state WHERE expires_at IS NOT NULL AND expires_at <= $1",

  acquireLease: compile(ACQUIRE_LEASE_SQL),
  releaseLease: "UPDATE leases SET expires_at = 0 WHERE name = $1 AND holder = $2",
} as const;

const AUDIT_TYPES: Record<string, string> = {
  seq: "bigint",
  id: "text",
  time: "bigint",
  code: "text",
  severity: "text",
  outcome: "text",
  actor_type: "text",
  actor_id: "text",
  request_id: "text",
  grant_id: "text",
  identity_id: "text",
  data: "text",
  prev_hash: "text",
  hash: "text",
};

/** Every audit event of a batch in one INSERT: a column per parameter, so the text never changes. */
export const INSERT_EVENTS_SQL = `INSERT INTO audit_events (${list(AUDIT_COLUMNS)})
  SELECT ${list(AUDIT_COLUMNS)} FROM unnest(${AUDIT_COLUMNS.map((c, i) => `$${i + 1}::${AUDIT_TYPES[c]}[]`).join(", ")})
  AS v (${list(AUDIT_COLUMNS)})`;
