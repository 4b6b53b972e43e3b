// Every SQL statement the SQLite store runs, prepared once per connection; the ones shared with PostgreSQL come from sql/.
import type Database from "better-sqlite3";
import { AUDIT_COLUMNS, type AuditRow } from "../sql/audit-rows.js";
import { insertSql } from "../sql/columns.js";
import type { GrantRow } from "../sql/grant-rows.js";
import type { ApiKeyRow, IdentityRow } from "../sql/identity-rows.js";
import type { NotificationRow } from "../sql/outbox-rows.js";
import type { RequestRow } from "../sql/request-rows.js";
import type { LeaseRow, StateRow } from "../sql/state-rows.js";
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
import type { ApiKeyRecord } from "../store.js";

const MARK_GRANT_USED_SQL = `UPDATE grants SET
  first_used_at = CASE WHEN first_used_at IS NULL OR first_used_at > @at THEN @at ELSE first_used_at END,
  last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < @at THEN @at ELSE last_used_at END WHERE id = @id`;

// `due_at IS NOT NULL` repeats the partial index's condition so the planner knows it may use grants_due.
// Exported so a test can EXPLAIN the exact statements and prove the index is used.
export const DUE_GRANTS_SQL = `${GRANT_SELECT} WHERE due_at IS NOT NULL AND due_at <= @now ORDER BY due_at LIMIT @limit`;
/** An active grant is due at its expiry; one due later was claimed (see `Store.releaseClaims`). */
export const RELEASE_CLAIMS_SQL = `UPDATE grants SET due_at = expires_at, version = version + 1
  WHERE due_at IS NOT NULL AND due_at > expires_at AND state = 'active'`;

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
  /** Every write of a change set, by the statement `planWrite` names. */
  readonly writes: Readonly<Record<WriteStatement, Stmt<object>>>;
  readonly getRequest: Stmt<[string], RequestRow>;
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
  readonly dueNotifications: Stmt<{ now: number } & Limit, NotificationRow>;
  readonly leaseNotification: Stmt<{ id: string; lease: number }>;
  readonly insertEvent: Stmt<AuditRow>;
  readonly auditHead: Stmt<[], { seq: number; hash: string }>;
  readonly listAudit: Stmt<{ after: number } & Limit, AuditRow>;
  readonly auditForGrant: Stmt<{ grant: string } & Limit, AuditRow>;
  readonly auditForRequest: Stmt<{ request: string } & Limit, AuditRow>;
  readonly auditForEither: Stmt<{ grant: string; request: string } & Limit, AuditRow>;
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
  readonly getState: Stmt<[string, string], StateRow>;
  readonly listState: Stmt<[string], StateRow>;
  readonly purgeState: Stmt<[number]>;
  readonly claimGrant: Stmt<{ id: string; due_at: number; version: number }>;
  readonly acquireLease: Stmt<{ name: string; holder: string; expires_at: number; now: number }, LeaseRow>;
  readonly releaseLease: Stmt<[string, string]>;
}

export function prepareStatements(db: Database.Database): Statements {
  return {
    begin: db.prepare("BEGIN IMMEDIATE"),
    commit: db.prepare("COMMIT"),
    rollback: db.prepare("ROLLBACK"),
    savepoint: db.prepare("SAVEPOINT change_set"),
    release: db.prepare("RELEASE change_set"),
    rollbackTo: db.prepare("ROLLBACK TO change_set"),
    ping: db.prepare<[], { ok: number }>("SELECT 1 AS ok"),
    writes: prepareWrites(db),

    getRequest: db.prepare<[string], RequestRow>(`${REQUEST_SELECT} WHERE id = ?`),

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

    getState: db.prepare<[string, string], StateRow>(
      "SELECT key, value, expires_at FROM connector_state WHERE namespace = ? AND key = ?",
    ),
    listState: db.prepare<[string], StateRow>(
      "SELECT key, value, expires_at FROM connector_state WHERE namespace = ? ORDER BY key",
    ),
    purgeState: db.prepare<[number]>("DELETE FROM connector_state WHERE expires_at IS NOT NULL AND expires_at <= ?"),
    claimGrant: db.prepare<{ id: string; due_at: number; version: number }>(
      "UPDATE grants SET due_at = @due_at, version = version + 1 WHERE id = @id AND version = @version",
    ),
    acquireLease: db.prepare<{ name: string; holder: string; expires_at: number; now: number }, LeaseRow>(
      ACQUIRE_LEASE_SQL,
    ),
    releaseLease: db.prepare<[string, string]>("UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?"),
  };
}

function prepareWrites(db: Database.Database): Record<WriteStatement, Stmt<object>> {
  const entries = Object.entries(WRITE_SQL).map(([name, sql]) => [name, db.prepare<object>(sql)]);
  return Object.fromEntries(entries) as Record<WriteStatement, Stmt<object>>;
}
