// Every SQL statement the SQLite store runs, prepared once per connection; column lists come from the row types.
import type Database from "better-sqlite3";
import type { ApiKeyRecord } from "../store.js";
import type {
  ApiKeyRow,
  AuditRow,
  GrantRow,
  IdentityRow,
  LeaseRow,
  NotificationRow,
  RequestRow,
  StateRow,
} from "./rows.js";

/** Column names of a row type; the record literal makes the compiler flag a missing or unknown column. */
export function columns<Row>(names: { [K in keyof Row]: true }): readonly string[] {
  return Object.keys(names);
}

export const REQUEST_COLUMNS = columns<RequestRow>({
  id: true,
  identity_id: true,
  entitlement: true,
  target_id: true,
  duration_seconds: true,
  justification: true,
  ticket: true,
  intent: true,
  break_glass: true,
  state: true,
  decision: true,
  grant_id: true,
  state_reason: true,
  created_at: true,
  updated_at: true,
  version: true,
  revision: true,
  approvals: true,
  due_at: true,
  review: true,
  review_due_at: true,
  facts: true,
});

export const NOTIFICATION_COLUMNS = columns<NotificationRow>({
  id: true,
  sink: true,
  event: true,
  payload: true,
  state: true,
  attempts: true,
  next_attempt_at: true,
  last_error: true,
  created_at: true,
  delivered_at: true,
});

export const GRANT_COLUMNS = columns<GrantRow>({
  id: true,
  request_id: true,
  identity_id: true,
  target_id: true,
  entitlement: true,
  connector_type: true,
  handle: true,
  handle_data: true,
  state: true,
  created_at: true,
  issued_at: true,
  expires_at: true,
  max_expires_at: true,
  renewals: true,
  end_reason: true,
  ended_at: true,
  ended_by: true,
  attempts: true,
  last_error: true,
  revoked_at: true,
  verified_at: true,
  evidence: true,
  due_at: true,
  version: true,
  first_used_at: true,
  last_used_at: true,
  unused: true,
  receipt: true,
});

/** A versioned grant update leaves usage alone: it is written outside change sets and must not be undone. */
export const GRANT_UPDATE_COLUMNS = GRANT_COLUMNS.filter((c) => c !== "first_used_at" && c !== "last_used_at");

export const AUDIT_COLUMNS = columns<AuditRow>({
  seq: true,
  id: true,
  time: true,
  code: true,
  severity: true,
  outcome: true,
  actor_type: true,
  actor_id: true,
  request_id: true,
  grant_id: true,
  identity_id: true,
  data: true,
  prev_hash: true,
  hash: true,
});

export const IDENTITY_COLUMNS = columns<IdentityRow>({
  id: true,
  kind: true,
  owner: true,
  groups: true,
  attributes: true,
  admin: true,
  status: true,
  status_reason: true,
  source: true,
  first_seen_at: true,
  last_seen_at: true,
  created_at: true,
  updated_at: true,
  version: true,
});

export const IDENTITY_SELECT = `SELECT ${IDENTITY_COLUMNS.join(", ")} FROM identities`;
/** A versioned identity update leaves sightings alone: they are written outside change sets and must not be undone. */
export const IDENTITY_UPDATE_COLUMNS = IDENTITY_COLUMNS.filter((c) => c !== "first_seen_at" && c !== "last_seen_at");
export const GRANT_SELECT = `SELECT ${GRANT_COLUMNS.join(", ")} FROM grants`;

// The report's statements, shared by both stores (named parameters; PostgreSQL's are compiled to $n). Both read the
// grants issued in [@from, @to) through grants_issued.
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
export const MARK_GRANT_USED_SQL = `UPDATE grants SET
  first_used_at = CASE WHEN first_used_at IS NULL OR first_used_at > @at THEN @at ELSE first_used_at END,
  last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < @at THEN @at ELSE last_used_at END WHERE id = @id`;

/** Nearest-rank: the 0-based offset of the `q` quantile among `n` sorted values. */
export function rankOffset(q: number, n: number): number {
  return Math.max(0, Math.ceil(q * n) - 1);
}
export const REQUEST_SELECT = `SELECT ${REQUEST_COLUMNS.join(", ")} FROM requests`;
export const NOTIFICATION_SELECT = `SELECT ${NOTIFICATION_COLUMNS.join(", ")} FROM notifications`;
const AUDIT_SELECT = `SELECT ${AUDIT_COLUMNS.join(", ")} FROM audit_events`;

// `due_at IS NOT NULL` repeats the partial index's condition so the planner knows it may use grants_due.
// Exported so a test can EXPLAIN the exact statements and prove the index is used.
export const DUE_GRANTS_SQL = `${GRANT_SELECT} WHERE due_at IS NOT NULL AND due_at <= @now ORDER BY due_at LIMIT @limit`;
/** An active grant is due at its expiry; one due later was claimed (see `Store.releaseClaims`). */
export const RELEASE_CLAIMS_SQL = `UPDATE grants SET due_at = expires_at, version = version + 1
  WHERE due_at IS NOT NULL AND due_at > expires_at AND state = 'active'`;
export const NEXT_DUE_SQL = "SELECT min(due_at) AS due FROM grants WHERE due_at IS NOT NULL";

/**
 * Insert once: a live entry wins, an expired one is replaced. Shared with PostgreSQL (named parameters are rewritten
 * there), so both stores decide "present and unexpired" by the same condition.
 */
export const INSERT_STATE_ONCE_SQL = `INSERT INTO connector_state (namespace, key, value, expires_at)
  VALUES (@namespace, @key, @value, @expires_at)
  ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
  WHERE connector_state.expires_at IS NOT NULL AND connector_state.expires_at <= @now`;

/** Takes a free or expired lease, or renews one the holder has; the token moves whenever the lease changes hands. */
export const ACQUIRE_LEASE_SQL = `INSERT INTO leases (name, holder, expires_at, token)
  VALUES (@name, @holder, @expires_at, 1)
  ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
    token = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > @now THEN leases.token
                 ELSE leases.token + 1 END
  WHERE leases.holder = excluded.holder OR leases.expires_at <= @now
  RETURNING name, holder, expires_at, token`;

function insertSql(table: string, cols: readonly string[]): string {
  return `INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map((c) => `@${c}`).join(", ")})`;
}

/** The optimistic write: changes one row only when it still has the version the caller read. */
function updateSql(table: string, cols: readonly string[]): string {
  const set = cols.filter((c) => c !== "id").map((c) => `${c} = @${c}`);
  return `UPDATE ${table} SET ${set.join(", ")} WHERE id = @id AND version = @expected_version`;
}

type Expected = { expected_version: number };
type Limit = { limit: number };
type Stmt<Params extends unknown[] | object = [], Row = unknown> = Database.Statement<Params, Row>;

export interface Statements {
  readonly begin: Stmt;
  readonly commit: Stmt;
  readonly rollback: Stmt;
  readonly savepoint: Stmt;
  readonly release: Stmt;
  readonly rollbackTo: Stmt;
  readonly ping: Stmt<[], { ok: number }>;
  readonly insertRequest: Stmt<RequestRow>;
  readonly updateRequest: Stmt<RequestRow & Expected>;
  readonly getRequest: Stmt<[string], RequestRow>;
  readonly insertGrant: Stmt<GrantRow>;
  readonly updateGrant: Stmt<GrantRow & Expected>;
  readonly getGrant: Stmt<[string], GrantRow>;
  readonly dueGrants: Stmt<{ now: number } & Limit, GrantRow>;
  readonly nextDueAt: Stmt<[], { due: number | null }>;
  readonly releaseClaims: Stmt<[]>;
  readonly pruneGrants: Stmt<{ before: number; bound: string; limit: number }>;
  readonly pruneRequests: Stmt<{ before: number; bound: string; limit: number }>;
  readonly grantsInStates: Stmt<{ states: string } & Limit, GrantRow>;
  readonly countByState: Stmt<[], { state: string; n: number }>;
  readonly countActive: Stmt<[], { targetId: string; entitlement: string; count: number }>;
  readonly dueRequests: Stmt<{ now: number } & Limit, RequestRow>;
  readonly countOverdueReviews: Stmt<{ now: number }, { n: number }>;
  readonly insertNotification: Stmt<NotificationRow>;
  readonly settleNotification: Stmt<NotificationRow>;
  readonly dueNotifications: Stmt<{ now: number } & Limit, NotificationRow>;
  readonly leaseNotification: Stmt<{ id: string; lease: number }>;
  readonly insertEvent: Stmt<AuditRow>;
  readonly auditHead: Stmt<[], { seq: number; hash: string }>;
  readonly listAudit: Stmt<{ after: number } & Limit, AuditRow>;
  readonly auditForGrant: Stmt<{ grant: string } & Limit, AuditRow>;
  readonly auditForRequest: Stmt<{ request: string } & Limit, AuditRow>;
  readonly auditForEither: Stmt<{ grant: string; request: string } & Limit, AuditRow>;
  readonly insertIdentity: Stmt<IdentityRow>;
  readonly updateIdentity: Stmt<IdentityRow & Expected>;
  readonly getIdentity: Stmt<[string], IdentityRow>;
  readonly markSeen: Stmt<{ id: string; at: number }>;
  readonly markGrantUsed: Stmt<{ id: string; at: number }>;
  readonly grantReport: Stmt<
    { from: number; to: number; now: number },
    {
      issued: number;
      ended: number;
      verified: number;
      overruns: number;
      unused: number;
      not_observable: number;
      renewals: number;
    }
  >;
  readonly privilegeAtRank: Stmt<{ from: number; to: number; offset: number }, { ms: number }>;
  readonly putApiKey: Stmt<ApiKeyRecord>;
  readonly findApiKey: Stmt<[string], ApiKeyRow>;
  readonly putState: Stmt<{ namespace: string; key: string; value: string; expires_at: number | null }>;
  readonly deleteState: Stmt<[string, string]>;
  readonly getState: Stmt<[string, string], StateRow>;
  readonly listState: Stmt<[string], StateRow>;
  readonly purgeState: Stmt<[number]>;
  readonly insertStateOnce: Stmt<StateParams & { now: number }>;
  readonly insertStateIfAbsent: Stmt<StateParams>;
  readonly replaceStateIf: Stmt<StateParams & { expected: string }>;
  readonly claimGrant: Stmt<{ id: string; due_at: number; version: number }>;
  readonly acquireLease: Stmt<{ name: string; holder: string; expires_at: number; now: number }, LeaseRow>;
  readonly releaseLease: Stmt<[string, string]>;
}

type StateParams = { namespace: string; key: string; value: string; expires_at: number | null };

export function prepareStatements(db: Database.Database): Statements {
  return {
    begin: db.prepare("BEGIN IMMEDIATE"),
    commit: db.prepare("COMMIT"),
    rollback: db.prepare("ROLLBACK"),
    savepoint: db.prepare("SAVEPOINT change_set"),
    release: db.prepare("RELEASE change_set"),
    rollbackTo: db.prepare("ROLLBACK TO change_set"),
    ping: db.prepare<[], { ok: number }>("SELECT 1 AS ok"),

    insertRequest: db.prepare<RequestRow>(insertSql("requests", REQUEST_COLUMNS)),
    updateRequest: db.prepare<RequestRow & Expected>(updateSql("requests", REQUEST_COLUMNS)),
    getRequest: db.prepare<[string], RequestRow>(`${REQUEST_SELECT} WHERE id = ?`),

    insertGrant: db.prepare<GrantRow>(insertSql("grants", GRANT_COLUMNS)),
    updateGrant: db.prepare<GrantRow & Expected>(updateSql("grants", GRANT_UPDATE_COLUMNS)),
    getGrant: db.prepare<[string], GrantRow>(`${GRANT_SELECT} WHERE id = ?`),
    dueGrants: db.prepare<{ now: number } & Limit, GrantRow>(DUE_GRANTS_SQL),
    nextDueAt: db.prepare<[], { due: number | null }>(NEXT_DUE_SQL),
    releaseClaims: db.prepare<[]>(RELEASE_CLAIMS_SQL),
    pruneGrants: db.prepare<{ before: number; bound: string; limit: number }>(
      `DELETE FROM grants WHERE id IN (SELECT id FROM grants WHERE id < @bound AND state = 'verified'
         AND ended_at < @before ORDER BY id LIMIT @limit)`,
    ),
    pruneRequests: db.prepare<{ before: number; bound: string; limit: number }>(
      `DELETE FROM requests WHERE id IN (SELECT r.id FROM requests r WHERE r.id < @bound
         AND r.state IN ('issued', 'denied', 'cancelled', 'timed_out', 'failed') AND r.updated_at < @before
         AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.request_id = r.id) ORDER BY r.id LIMIT @limit)`,
    ),
    grantsInStates: db.prepare<{ states: string } & Limit, GrantRow>(
      `${GRANT_SELECT} WHERE state IN (SELECT value FROM json_each(@states)) ORDER BY id LIMIT @limit`,
    ),
    countByState: db.prepare<[], { state: string; n: number }>(
      "SELECT state, count(*) AS n FROM grants GROUP BY state",
    ),
    countActive: db.prepare<[], { targetId: string; entitlement: string; count: number }>(
      `SELECT target_id AS targetId, entitlement, count(*) AS count FROM grants WHERE state = 'active'
       GROUP BY target_id, entitlement ORDER BY target_id, entitlement`,
    ),

    dueRequests: db.prepare<{ now: number } & Limit, RequestRow>(
      `${REQUEST_SELECT} WHERE due_at IS NOT NULL AND due_at <= @now ORDER BY due_at LIMIT @limit`,
    ),
    countOverdueReviews: db.prepare<{ now: number }, { n: number }>(
      "SELECT count(*) AS n FROM requests WHERE review_due_at IS NOT NULL AND review_due_at <= @now",
    ),
    insertNotification: db.prepare<NotificationRow>(insertSql("notifications", NOTIFICATION_COLUMNS)),
    settleNotification: db.prepare<NotificationRow>(
      `UPDATE notifications SET state = @state, attempts = @attempts, next_attempt_at = @next_attempt_at,
         last_error = @last_error, delivered_at = @delivered_at WHERE id = @id`,
    ),
    leaseNotification: db.prepare<{ id: string; lease: number }>(
      "UPDATE notifications SET next_attempt_at = @lease WHERE id = @id",
    ),
    dueNotifications: db.prepare<{ now: number } & Limit, NotificationRow>(
      `${NOTIFICATION_SELECT} WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= @now ORDER BY next_attempt_at LIMIT @limit`,
    ),

    insertEvent: db.prepare<AuditRow>(insertSql("audit_events", AUDIT_COLUMNS)),
    auditHead: db.prepare<[], { seq: number; hash: string }>(
      "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1",
    ),
    listAudit: db.prepare<{ after: number } & Limit, AuditRow>(
      `${AUDIT_SELECT} WHERE seq > @after ORDER BY seq LIMIT @limit`,
    ),
    auditForGrant: db.prepare<{ grant: string } & Limit, AuditRow>(
      `${AUDIT_SELECT} WHERE grant_id = @grant ORDER BY seq LIMIT @limit`,
    ),
    auditForRequest: db.prepare<{ request: string } & Limit, AuditRow>(
      `${AUDIT_SELECT} WHERE request_id = @request ORDER BY seq LIMIT @limit`,
    ),
    auditForEither: db.prepare<{ grant: string; request: string } & Limit, AuditRow>(
      `${AUDIT_SELECT} WHERE grant_id = @grant OR request_id = @request ORDER BY seq LIMIT @limit`,
    ),

    insertIdentity: db.prepare<IdentityRow>(insertSql("identities", IDENTITY_COLUMNS)),
    // A sighting must not fight a status change: first/last seen are written without a version bump.
    updateIdentity: db.prepare<IdentityRow & Expected>(updateSql("identities", IDENTITY_UPDATE_COLUMNS)),
    getIdentity: db.prepare<[string], IdentityRow>(`${IDENTITY_SELECT} WHERE id = ?`),
    markSeen: db.prepare<{ id: string; at: number }>(
      `UPDATE identities SET first_seen_at = coalesce(first_seen_at, @at),
         last_seen_at = max(coalesce(last_seen_at, @at), @at) WHERE id = @id`,
    ),

    markGrantUsed: db.prepare<{ id: string; at: number }>(MARK_GRANT_USED_SQL),
    grantReport: db.prepare(GRANT_REPORT_SQL),
    privilegeAtRank: db.prepare(PRIVILEGE_AT_RANK_SQL),

    putApiKey: db.prepare<ApiKeyRecord>(
      `INSERT INTO api_keys (key_id, identity_id, hash, created_at, revoked_at)
       VALUES (@keyId, @identityId, @hash, @createdAt, @revokedAt)
       ON CONFLICT (key_id) DO UPDATE SET identity_id = excluded.identity_id, hash = excluded.hash,
         created_at = excluded.created_at, revoked_at = excluded.revoked_at`,
    ),
    findApiKey: db.prepare<[string], ApiKeyRow>(
      "SELECT key_id, identity_id, hash, created_at, revoked_at FROM api_keys WHERE key_id = ?",
    ),

    putState: db.prepare<{ namespace: string; key: string; value: string; expires_at: number | null }>(
      `INSERT INTO connector_state (namespace, key, value, expires_at) VALUES (@namespace, @key, @value, @expires_at)
       ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
    ),
    deleteState: db.prepare<[string, string]>("DELETE FROM connector_state WHERE namespace = ? AND key = ?"),
    getState: db.prepare<[string, string], StateRow>(
      "SELECT key, value, expires_at FROM connector_state WHERE namespace = ? AND key = ?",
    ),
    listState: db.prepare<[string], StateRow>(
      "SELECT key, value, expires_at FROM connector_state WHERE namespace = ? ORDER BY key",
    ),
    purgeState: db.prepare<[number]>("DELETE FROM connector_state WHERE expires_at IS NOT NULL AND expires_at <= ?"),
    insertStateOnce: db.prepare<StateParams & { now: number }>(INSERT_STATE_ONCE_SQL),
    insertStateIfAbsent: db.prepare<StateParams>(
      `INSERT INTO connector_state (namespace, key, value, expires_at) VALUES (@namespace, @key, @value, @expires_at)
       ON CONFLICT (namespace, key) DO NOTHING`,
    ),
    replaceStateIf: db.prepare<StateParams & { expected: string }>(
      `UPDATE connector_state SET value = @value, expires_at = @expires_at
       WHERE namespace = @namespace AND key = @key AND value = @expected`,
    ),
    claimGrant: db.prepare<{ id: string; due_at: number; version: number }>(
      "UPDATE grants SET due_at = @due_at, version = version + 1 WHERE id = @id AND version = @version",
    ),
    acquireLease: db.prepare<{ name: string; holder: string; expires_at: number; now: number }, LeaseRow>(
      ACQUIRE_LEASE_SQL,
    ),
    releaseLease: db.prepare<[string, string]>("UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?"),
  };
}
