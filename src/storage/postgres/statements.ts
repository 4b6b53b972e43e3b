// Every SQL statement the PostgreSQL store runs; the ones shared with SQLite (writes, report, leases) come from sql/.
import { AUDIT_COLUMNS } from "../sql/audit-rows.js";
import { GRANT_COLUMNS } from "../sql/grant-rows.js";
import { NOTIFICATION_COLUMNS } from "../sql/outbox-rows.js";
import {
  ACQUIRE_LEASE_SQL,
  AUDIT_SELECT,
  GRANT_REPORT_SQL,
  GRANT_SELECT,
  IDENTITY_SELECT,
  NEXT_DUE_SQL,
  NOTIFICATION_SELECT,
  PRIVILEGE_AT_RANK_SQL,
  REQUEST_SELECT,
  WRITE_SQL,
  type WriteStatement,
} from "../sql/statements.js";
import { type CompiledSql, compile } from "./sql.js";

/**
 * The identity check as a shared row lock instead of an update: concurrent batches asserting one identity do not queue
 * for its row, while an offboarding's update waits for them (and they for it). `rowCount` is the rows returned.
 */
const ASSERT_IDENTITY_ACTIVE_SQL =
  "SELECT 1 FROM identities WHERE id = @id AND version = @version AND status = 'active' FOR SHARE";

/** Every write of a change set, by the statement `planWrite` names, compiled to positional parameters. */
export const WRITES = Object.fromEntries(
  Object.entries({ ...WRITE_SQL, assertIdentityActive: ASSERT_IDENTITY_ACTIVE_SQL }).map(([name, sql]) => [
    name,
    compile(sql),
  ]),
) as Readonly<Record<WriteStatement, CompiledSql>>;

export const SQL = {
  getRequest: `${REQUEST_SELECT} WHERE id = $1`,
  requestSelect: REQUEST_SELECT,
  dueRequests: `${REQUEST_SELECT} WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at LIMIT $2`,
  countOverdueReviews: "SELECT count(*) AS n FROM requests WHERE review_due_at IS NOT NULL AND review_due_at <= $1",

  notificationSelect: NOTIFICATION_SELECT,
  // SKIP LOCKED: notifications another replica is claiming right now are left to it, never delivered twice at once.
  claimNotifications: `WITH due AS (
      SELECT id, next_attempt_at FROM notifications WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= $1
      ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
    UPDATE notifications AS n SET next_attempt_at = $3 FROM due WHERE n.id = due.id
    RETURNING ${NOTIFICATION_COLUMNS.map((c) => `n.${c}`).join(", ")}, due.next_attempt_at AS claimed_due`,
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
  nextDueAt: NEXT_DUE_SQL,
  grantsInStates: `${GRANT_SELECT} WHERE state = ANY($1::text[]) ORDER BY id LIMIT $2`,
  countByState: "SELECT state, count(*) AS n FROM grants GROUP BY state",
  countActive: `SELECT target_id AS "targetId", entitlement, count(*) AS count FROM grants WHERE state = 'active'
    GROUP BY target_id, entitlement ORDER BY target_id, entitlement`,

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
  listAudit: `${AUDIT_SELECT} WHERE seq > $1 ORDER BY seq LIMIT $2`,
  auditForGrant: `${AUDIT_SELECT} WHERE grant_id = $1 ORDER BY seq LIMIT $2`,
  auditForRequest: `${AUDIT_SELECT} WHERE request_id = $1 ORDER BY seq LIMIT $2`,
  auditForEither: `${AUDIT_SELECT} WHERE grant_id = $1 OR request_id = $2
    ORDER BY seq LIMIT $3`,

  putApiKey: `INSERT INTO api_keys (key_id, identity_id, hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (key_id) DO UPDATE SET identity_id = excluded.identity_id, hash = excluded.hash,
      created_at = excluded.created_at, revoked_at = excluded.revoked_at`,
  findApiKey: "SELECT key_id, identity_id, hash, created_at, revoked_at FROM api_keys WHERE key_id = $1",

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
export const INSERT_EVENTS_SQL = `INSERT INTO audit_events (${AUDIT_COLUMNS.join(", ")})
  SELECT ${AUDIT_COLUMNS.join(", ")} FROM unnest(${AUDIT_COLUMNS.map((c, i) => `$${i + 1}::${AUDIT_TYPES[c]}[]`).join(", ")})
  AS v (${AUDIT_COLUMNS.join(", ")})`;
