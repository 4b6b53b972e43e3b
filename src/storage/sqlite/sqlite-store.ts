// The embedded Store: one SQLite file in WAL mode with durable commits, where concurrent change sets share a transaction.

import type Database from "better-sqlite3";
import type { AccessRequest, AuditEvent, Grant, GrantState, IdentityRecord, Millis } from "../../domain/index.js";
import { GENESIS_HASH } from "../../domain/index.js";
import { idBound } from "../../support/index.js";
import { admitChangeSet, checkLimit, WriteHealth } from "../port-rules.js";
import { rowToEvent } from "../sql/audit-rows.js";
import type { BatchStats } from "../sql/batch.js";
import { countsByState, grantReportOf, rankOffset, verifiedCount } from "../sql/grant-report.js";
import { type GrantRow, rowToGrant } from "../sql/grant-rows.js";
import { type IdentityRow, rowToApiKey, rowToIdentity } from "../sql/identity-rows.js";
import { type NotificationRow, notificationToRow, rowToNotification } from "../sql/outbox-rows.js";
import { type RequestRow, rowToRequest } from "../sql/request-rows.js";
import { rowToLease, rowToState } from "../sql/state-rows.js";
import { GRANT_SELECT, IDENTITY_SELECT, NOTIFICATION_SELECT, REQUEST_SELECT } from "../sql/statements.js";
import {
  type ApiKeyRecord,
  type ChangeSet,
  type ClaimRequest,
  type GrantFilter,
  type GrantReport,
  type GrantUsage,
  type HeldLease,
  type IdentityFilter,
  type IdentitySighting,
  type LeaseRequest,
  type NotificationRecord,
  type ReportRange,
  type RequestFilter,
  type Store,
  type StoredState,
  StoreUnavailableError,
} from "../store.js";
import { type ConnectionSettings, connectionSettings, openConnection } from "./connection.js";
import { GroupCommit } from "./group-commit.js";
import { inList, listQuery } from "./list-query.js";
import { migrateSqlite } from "./migrate.js";
import { runBatch } from "./run-batch.js";
import { prepareStatements, type Statements } from "./statements.js";
import { writeNow } from "./write-now.js";

export interface SqliteStoreOptions {
  /** A file path (its directory is created if missing), or ":memory:" for a throwaway database. */
  readonly path: string;
  /** Most change sets committed in one transaction. Default 512. */
  readonly maxBatch?: number;
  /** How long to wait for another process's write lock before giving up, in ms. Default 5000. */
  readonly busyTimeoutMs?: number;
}

/** Counters for tests and metrics: `commits` is the number of transactions, so `changeSets / commits` is the batching. */
export type SqliteStoreStats = Readonly<BatchStats>;

export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #queue: GroupCommit<ChangeSet, readonly AuditEvent[]>;
  /** List queries by SQL text: a few shapes each, prepared once. */
  readonly #listStatements = new Map<string, Database.Statement<Record<string, string | number>, unknown>>();
  #statements: Statements | null = null;
  #closed = false;
  readonly #stats: BatchStats = { commits: 0, changeSets: 0, failedChangeSets: 0, largestBatch: 0 };

  constructor(options: SqliteStoreOptions) {
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new RangeError("busyTimeoutMs must be an integer");
    this.#db = openConnection(options.path, busyTimeoutMs);
    this.#queue = new GroupCommit((batch) => runBatch(this.#db, this.#s, batch, this.#stats), options.maxBatch ?? 512);
  }

  get stats(): SqliteStoreStats {
    return { ...this.#stats };
  }

  /** The connection's settings as SQLite reports them, for diagnostics. */
  settings(): ConnectionSettings {
    return connectionSettings(this.#db);
  }

  async migrate(): Promise<void> {
    migrateSqlite(this.#open());
    this.#statements = null;
    this.#listStatements.clear();
  }

  readonly #writeHealth = new WriteHealth();

  /** False after a commit the database could not make, until one lands again. */
  get writable(): boolean {
    return this.#writeHealth.writable;
  }

  apply(changes: ChangeSet): Promise<readonly AuditEvent[]> {
    return admitChangeSet(this.#closed, changes, (admitted) => this.#queue.submit(admitted), this.#writeHealth);
  }

  async getRequest(id: string): Promise<AccessRequest | null> {
    const row = this.#s.getRequest.get(id);
    return row === undefined ? null : rowToRequest(row);
  }

  async listRequests(filter: RequestFilter): Promise<readonly AccessRequest[]> {
    if (filter.states?.length === 0) return [];
    const { sql, params } = listQuery(REQUEST_SELECT, filter.limit, [
      ["state IN (SELECT value FROM json_each(@states))", "states", inList(filter.states)],
      ["identity_id = @identity", "identity", filter.identityId],
      ["id > @after", "after", filter.after],
    ]);
    return this.#prepared<RequestRow>(sql).all(params).map(rowToRequest);
  }

  async dueRequests(now: Millis, limit: number): Promise<readonly AccessRequest[]> {
    return this.#s.dueRequests.all({ now, limit: checkLimit(limit) }).map(rowToRequest);
  }

  async countOverdueReviews(now: Millis): Promise<number> {
    return this.#s.countOverdueReviews.get({ now })?.n ?? 0;
  }

  async claimDueNotifications(request: ClaimRequest): Promise<readonly NotificationRecord[]> {
    const limit = checkLimit(request.limit);
    if (limit === 0) return [];
    const s = this.#s;
    const lease = request.now + request.leaseMs;
    // Read and lease in one synchronous transaction: no other writer of this file sees the rows in between.
    const due = writeNow(this.#open(), s, "could not claim due notifications", () => {
      const rows = s.dueNotifications.all({ now: request.now, limit });
      for (const row of rows) s.leaseNotification.run({ id: row.id, lease });
      return rows;
    });
    return due.map((row) => rowToNotification({ ...row, next_attempt_at: lease }));
  }

  async settleNotification(notification: NotificationRecord): Promise<void> {
    this.#s.writes.settleNotification.run(notificationToRow(notification));
  }

  async listNotifications(filter: {
    readonly states?: readonly NotificationRecord["state"][];
    readonly after?: string;
    readonly limit: number;
  }): Promise<readonly NotificationRecord[]> {
    if (filter.states?.length === 0) return [];
    const { sql, params } = listQuery(NOTIFICATION_SELECT, filter.limit, [
      ["state IN (SELECT value FROM json_each(@states))", "states", inList(filter.states)],
      ["id > @after", "after", filter.after],
    ]);
    return this.#prepared<NotificationRow>(sql).all(params).map(rowToNotification);
  }

  async getGrant(id: string): Promise<Grant | null> {
    const row = this.#s.getGrant.get(id);
    return row === undefined ? null : rowToGrant(row);
  }

  async listGrants(filter: GrantFilter): Promise<readonly Grant[]> {
    if (filter.states?.length === 0) return [];
    const { sql, params } = listQuery(GRANT_SELECT, filter.limit, [
      ["state IN (SELECT value FROM json_each(@states))", "states", inList(filter.states)],
      ["identity_id = @identity", "identity", filter.identityId],
      ["target_id = @target", "target", filter.targetId],
      ["id > @after", "after", filter.after],
    ]);
    // At most 16 shapes of this query exist; each is prepared once.
    return this.#prepared<GrantRow>(sql).all(params).map(rowToGrant);
  }

  async dueGrants(now: Millis, limit: number): Promise<readonly Grant[]> {
    return this.#s.dueGrants.all({ now, limit: checkLimit(limit) }).map(rowToGrant);
  }

  async claimDue(request: ClaimRequest): Promise<readonly Grant[]> {
    const limit = checkLimit(request.limit);
    const db = this.#open();
    const s = this.#s;
    const claim = db.transaction(() => {
      const dueAt = request.now + request.leaseMs;
      const claimed: Grant[] = [];
      for (const row of s.dueGrants.all({ now: request.now, limit })) {
        if (s.claimGrant.run({ id: row.id, due_at: dueAt, version: row.version }).changes === 1) {
          claimed.push({ ...rowToGrant(row), dueAt, version: row.version + 1 });
        }
      }
      return claimed;
    });
    // IMMEDIATE: the write lock first, so a second process on the same file cannot claim the same rows meanwhile.
    return claim.immediate();
  }

  async pruneHistory(request: { endedBefore: Millis; limit: number }): Promise<{ grants: number; requests: number }> {
    const limit = checkLimit(request.limit);
    const s = this.#s;
    const prune = this.#open().transaction(() => {
      const grants = s.pruneGrants.run({
        before: request.endedBefore,
        bound: idBound("grt", request.endedBefore),
        limit,
      });
      const requests = s.pruneRequests.run({
        before: request.endedBefore,
        bound: idBound("req", request.endedBefore),
        limit,
      });
      return { grants: grants.changes, requests: requests.changes };
    });
    return prune.immediate();
  }

  async releaseClaims(): Promise<number> {
    return this.#s.releaseClaims.run().changes;
  }

  async nextDueAt(): Promise<Millis | null> {
    return this.#s.nextDueAt.get()?.due ?? null;
  }

  async grantsInStates(states: readonly GrantState[], limit: number): Promise<readonly Grant[]> {
    checkLimit(limit);
    if (states.length === 0) return [];
    return this.#s.grantsInStates.all({ states: JSON.stringify(states), limit }).map(rowToGrant);
  }

  async countGrantsByState(): Promise<ReadonlyMap<GrantState, number>> {
    return countsByState(this.#s.countByState.all());
  }

  async countActiveGrants(): Promise<readonly { targetId: string; entitlement: string; count: number }[]> {
    return this.#s.countActive.all();
  }

  async listAudit(afterSeq: number, limit: number): Promise<readonly AuditEvent[]> {
    return this.#s.listAudit.all({ after: afterSeq, limit: checkLimit(limit) }).map(rowToEvent);
  }

  async auditFor(subject: { grantId?: string; requestId?: string }, limit: number): Promise<readonly AuditEvent[]> {
    const s = this.#s;
    checkLimit(limit);
    const { grantId, requestId } = subject;
    const rows =
      grantId !== undefined && requestId !== undefined
        ? s.auditForEither.all({ grant: grantId, request: requestId, limit })
        : grantId !== undefined
          ? s.auditForGrant.all({ grant: grantId, limit })
          : requestId !== undefined
            ? s.auditForRequest.all({ request: requestId, limit })
            : null;
    if (rows === null) throw new TypeError("auditFor needs a grantId or a requestId");
    return rows.map(rowToEvent);
  }

  async auditHead(): Promise<{ seq: number; hash: string }> {
    return this.#s.auditHead.get() ?? { seq: 0, hash: GENESIS_HASH };
  }

  async getIdentity(id: string): Promise<IdentityRecord | null> {
    const row = this.#s.getIdentity.get(id);
    return row === undefined ? null : rowToIdentity(row);
  }

  async listIdentities(filter: IdentityFilter): Promise<readonly IdentityRecord[]> {
    if (filter.statuses?.length === 0 || filter.kinds?.length === 0) return [];
    const { sql, params } = listQuery(IDENTITY_SELECT, filter.limit, [
      ["status IN (SELECT value FROM json_each(@statuses))", "statuses", inList(filter.statuses)],
      ["kind IN (SELECT value FROM json_each(@kinds))", "kinds", inList(filter.kinds)],
      ["owner = @owner", "owner", filter.owner],
      ["id > @after", "after", filter.after],
    ]);
    return this.#prepared<IdentityRow>(sql).all(params).map(rowToIdentity);
  }

  async markIdentitiesSeen(sightings: readonly IdentitySighting[]): Promise<void> {
    if (sightings.length === 0) return;
    const s = this.#s;
    // Outside the group-commit queue on purpose: a sighting is telemetry, not a state change, and carries no audit event.
    writeNow(this.#open(), s, "could not record identity sightings", () => {
      for (const sighting of sightings) s.markSeen.run({ id: sighting.id, at: sighting.at });
    });
  }

  async markGrantsUsed(usage: readonly GrantUsage[]): Promise<void> {
    if (usage.length === 0) return;
    const s = this.#s;
    // Outside the group-commit queue, like identity sightings: telemetry, no audit event.
    writeNow(this.#open(), s, "could not record grant usage", () => {
      for (const u of usage) s.markGrantUsed.run({ id: u.grantId, at: u.at });
    });
  }

  async grantReport(range: ReportRange): Promise<GrantReport> {
    const s = this.#s;
    const { from, to, now } = range;
    const row = s.grantReport.get({ from, to, now });
    const verified = verifiedCount(row);
    const at = (q: number) =>
      verified === 0 ? null : Number(s.privilegeAtRank.get({ from, to, offset: rankOffset(q, verified) })?.ms ?? null);
    return grantReportOf(row, { median: at(0.5), p99: at(0.99) });
  }

  async putApiKey(record: ApiKeyRecord): Promise<void> {
    this.#s.putApiKey.run({
      keyId: record.keyId,
      identityId: record.identityId,
      hash: record.hash,
      createdAt: record.createdAt,
      revokedAt: record.revokedAt,
    });
  }

  async findApiKey(keyId: string): Promise<ApiKeyRecord | null> {
    const row = this.#s.findApiKey.get(keyId);
    return row === undefined ? null : rowToApiKey(row);
  }

  /** Returns the entry even past its expiry until it is purged: the store reads no clock, so callers compare `expiresAt`. */
  async getState(namespace: string, key: string): Promise<StoredState | null> {
    const row = this.#s.getState.get(namespace, key);
    return row === undefined ? null : rowToState(row);
  }

  async listState(namespace: string): Promise<readonly StoredState[]> {
    return this.#s.listState.all(namespace).map(rowToState);
  }

  async purgeExpiredState(now: Millis): Promise<number> {
    return this.#s.purgeState.run(now).changes;
  }

  async acquireLease(request: LeaseRequest): Promise<HeldLease | null> {
    const row = this.#s.acquireLease.get({
      name: request.name,
      holder: request.holder,
      expires_at: request.now + request.ttlMs,
      now: request.now,
    });
    return row === undefined ? null : rowToLease(row);
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    this.#s.releaseLease.run(name, holder);
  }

  async ping(): Promise<boolean> {
    try {
      return this.#s.ping.get()?.ok === 1;
    } catch {
      return false;
    }
  }

  /** Commits whatever is queued, then closes; later calls fail with StoreUnavailableError. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#queue.drain();
    this.#closed = true;
    this.#statements = null;
    this.#listStatements.clear();
    this.#db.close();
  }

  #prepared<Row>(sql: string): Database.Statement<Record<string, string | number>, Row> {
    let statement = this.#listStatements.get(sql);
    if (statement === undefined) {
      statement = this.#open().prepare<Record<string, string | number>, unknown>(sql);
      this.#listStatements.set(sql, statement);
    }
    return statement as Database.Statement<Record<string, string | number>, Row>;
  }

  #open(): Database.Database {
    if (this.#closed) throw new StoreUnavailableError("the store is closed");
    return this.#db;
  }

  /** Statements are prepared on first use, after migrate() has created the tables they name. */
  get #s(): Statements {
    const db = this.#open();
    this.#statements ??= prepareStatements(db);
    return this.#statements;
  }
}

/** Opens the database at `path` (creating it and its directory if needed) and brings its schema up to date. */
export async function openSqliteStore(
  path: string,
  options: Omit<SqliteStoreOptions, "path"> = {},
): Promise<SqliteStore> {
  const store = new SqliteStore({ ...options, path });
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
