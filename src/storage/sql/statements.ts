// The SQL both dialects run as written (named `@` parameters; PostgreSQL compiles them to `$n`): every write of a
// change set, the report, insert-once state and leases. Both stores read and write the same rows by the same conditions.
import { AUDIT_COLUMNS } from "./audit-rows.js";
import { insertSql, updateSql } from "./columns.js";
import { GRANT_COLUMNS, GRANT_UPDATE_COLUMNS } from "./grant-rows.js";
import { IDENTITY_COLUMNS, IDENTITY_UPDATE_COLUMNS } from "./identity-rows.js";
import { NOTIFICATION_COLUMNS } from "./outbox-rows.js";
import { REQUEST_COLUMNS } from "./request-rows.js";

export const REQUEST_SELECT = `SELECT ${REQUEST_COLUMNS.join(", ")} FROM requests`;
export const GRANT_SELECT = `SELECT ${GRANT_COLUMNS.join(", ")} FROM grants`;
export const NOTIFICATION_SELECT = `SELECT ${NOTIFICATION_COLUMNS.join(", ")} FROM notifications`;
export const IDENTITY_SELECT = `SELECT ${IDENTITY_COLUMNS.join(", ")} FROM identities`;
export const AUDIT_SELECT = `SELECT ${AUDIT_COLUMNS.join(", ")} FROM audit_events`;

/**
 * Insert once: a live entry wins, an expired one is replaced. Both stores decide "present and unexpired" by this
 * one condition.
 */
const INSERT_STATE_ONCE_SQL = `INSERT INTO connector_state (namespace, key, value, expires_at)
  VALUES (@namespace, @key, @value, @expires_at)
  ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
  WHERE connector_state.expires_at IS NOT NULL AND connector_state.expires_at <= @now`;

/** One statement per kind of write in a change set; `planWrite` chooses one and its parameters. */
export const WRITE_SQL = {
  insertRequest: insertSql("requests", REQUEST_COLUMNS),
  updateRequest: updateSql("requests", REQUEST_COLUMNS),
  insertGrant: insertSql("grants", GRANT_COLUMNS),
  updateGrant: updateSql("grants", GRANT_UPDATE_COLUMNS),
  insertIdentity: insertSql("identities", IDENTITY_COLUMNS),
  // A sighting must not fight a status change: first/last seen are written without a version bump.
  updateIdentity: updateSql("identities", IDENTITY_UPDATE_COLUMNS),
  // Changes nothing, and counts one row only while the identity is active at the version read (PostgreSQL runs its own
  // statement for it, a shared row lock: see postgres/statements.ts).
  assertIdentityActive:
    "UPDATE identities SET version = version WHERE id = @id AND version = @version AND status = 'active'",
  insertNotification: insertSql("notifications", NOTIFICATION_COLUMNS),
  settleNotification: `UPDATE notifications SET state = @state, attempts = @attempts,
    next_attempt_at = @next_attempt_at, last_error = @last_error, delivered_at = @delivered_at WHERE id = @id`,
  putState: `INSERT INTO connector_state (namespace, key, value, expires_at) VALUES (@namespace, @key, @value, @expires_at)
    ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
  deleteState: "DELETE FROM connector_state WHERE namespace = @namespace AND key = @key",
  insertStateOnce: INSERT_STATE_ONCE_SQL,
  insertStateIfAbsent: `INSERT INTO connector_state (namespace, key, value, expires_at)
    VALUES (@namespace, @key, @value, @expires_at) ON CONFLICT (namespace, key) DO NOTHING`,
  replaceStateIf: `UPDATE connector_state SET value = @value, expires_at = @expires_at
    WHERE namespace = @namespace AND key = @key AND value = @expected`,
} as const;

export type WriteStatement = keyof typeof WRITE_SQL;

// The report's statements read the grants issued in [@from, @to) through grants_issued.
const ISSUED_IN_RANGE = "issued_at IS NOT NULL AND issued_at >= @from AND issued_at < @to";
export const GRANT_REPORT_SQL = `SELECT count(*) AS issued,
    coalesce(sum(CASE WHEN ended_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS ended,
    coalesce(sum(CASE WHEN verified_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS verified,
    coalesce(sum(CASE WHEN coalesce(verified_at, @now) - expires_at > 2000 THEN 1 ELSE 0 END), 0) AS overruns,
    coalesce(sum(CASE WHEN unused = 1 THEN 1 ELSE 0 END), 0) AS unused,
    coalesce(sum(CASE WHEN receipt IS NOT NULL AND unused IS NULL THEN 1 ELSE 0 END), 0) AS not_observable,
    coalesce(sum(renewals), 0) AS renewals
  FROM grants WHERE ${ISSUED_IN_RANGE}`;
/** The privilege duration at rank @offset (0-based) among verified grants: one row, read through the index. */
export const PRIVILEGE_AT_RANK_SQL = `SELECT verified_at - issued_at AS ms FROM grants
  WHERE ${ISSUED_IN_RANGE} AND verified_at IS NOT NULL ORDER BY verified_at - issued_at LIMIT 1 OFFSET @offset`;

export const NEXT_DUE_SQL = "SELECT min(due_at) AS due FROM grants WHERE due_at IS NOT NULL";

/** Takes a free or expired lease, or renews one the holder has; the token moves whenever the lease changes hands. */
export const ACQUIRE_LEASE_SQL = `INSERT INTO leases (name, holder, expires_at, token)
  VALUES (@name, @holder, @expires_at, 1)
  ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
    token = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > @now THEN leases.token
                 ELSE leases.token + 1 END
  WHERE leases.holder = excluded.holder OR leases.expires_at <= @now
  RETURNING name, holder, expires_at, token`;
