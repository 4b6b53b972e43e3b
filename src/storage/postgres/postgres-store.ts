// The shared Store for several broker replicas: PostgreSQL, one audit chain serialised on a locked head row, due
// grants claimed with FOR UPDATE SKIP LOCKED, and concurrent change sets of one process grouped into transactions, a
// few of them committing at once.

import type { Pool, PoolClient, QueryResultRow } from "pg";
import type { AccessRequest, AuditEvent, Grant, GrantState, IdentityRecord, Millis } from "../../domain/index.js";
import { idBound } from "../../support/index.js";
import { admitChangeSet, checkLimit, WriteHealth } from "../port-rules.js";
import { type AuditRow, rowToEvent } from "../sql/audit-rows.js";
import type { Pending } from "../sql/batch.js";
import { countsByState, type GrantReportRow, grantReportOf, rankOffset, verifiedCount } from "../sql/grant-report.js";
import { type GrantRow, rowToGrant } from "../sql/grant-rows.js";
import { type ApiKeyRow, type IdentityRow, rowToApiKey, rowToIdentity } from "../sql/identity-rows.js";
import { type NotificationRow, notificationToRow, rowToNotification } from "../sql/outbox-rows.js";
import { type RequestRow, rowToRequest } from "../sql/request-rows.js";
import { type LeaseRow, rowToLease, rowToState, type StateRow } from "../sql/state-rows.js";
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
import { Batcher } from "./batcher.js";
import { checkSchema, createPool, type PostgresStoreOptions, unavailable, withClient } from "./connection.js";
import { migratePostgres } from "./migrate.js";
import { type PgBatchStats, runBatch } from "./run-batch.js";
import { bind } from "./sql.js";
import { SQL, WRITES } from "./statements.js";

export type PostgresStoreStats = Readonly<PgBatchStats>;

const PING_TIMEOUT_MS = 2_000;

/** One condition of a list query: its SQL with `?` where the value goes, and the value; skipped when undefined. */
type Condition = readonly [sql: string, value: unknown];

/**
 * `select` with the conditions that have a value, ordered by id, limited; and its positional values. Every filter
 * is a bound parameter (lists as one array parameter).
 */
function listQuery(
  select: string,
  limit: number,
  conditions: readonly Condition[],
): { sql: string; values: unknown[] } {
  const values: unknown[] = [];
  const where: string[] = [];
  for (const [sql, value] of conditions) {
    if (value === undefined) continue;
    where.push(sql.replace("?", `$${values.push(value)}`));
  }
  values.push(checkLimit(limit));
  return {
    sql: `${select}${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY id LIMIT $${values.length}`,
    values,
  };
}

export class PostgresStore implements Store {
  readonly schema: string;
  readonly #pool: Pool;
  readonly #batcher: Batcher<ChangeSet, readonly AuditEvent[]>;
  readonly #stats: PgBatchStats = { commits: 0, changeSets: 0, failedChangeSets: 0, largestBatch: 0 };
  #closed = false;

  constructor(options: PostgresStoreOptions) {
    this.schema = checkSchema(options.schema ?? "public");
    this.#pool = createPool(options);
    const inFlight = Math.min(options.batchesInFlight ?? 4, options.poolSize ?? 10);
    this.#batcher = new Batcher((batch) => this.#commit(batch), options.maxBatch ?? 256, inFlight);
  }

  get stats(): PostgresStoreStats {
    return { ...this.#stats };
  }

  /** Creates the schema if needed and applies missing migrations, one starting replica at a time. */
  async migrate(): Promise<void> {
    await this.#client((client) => migratePostgres(client, this.schema));
  }

  readonly #writeHealth = new WriteHealth();

  /** False after a commit the database could not make, until one lands again. */
  get writable(): boolean {
    return this.#writeHealth.writable;
  }

  apply(changes: ChangeSet): Promise<readonly AuditEvent[]> {
    return admitChangeSet(this.#closed, changes, (admitted) => this.#batcher.submit(admitted), this.#writeHealth);
  }

  async getRequest(id: string): Promise<AccessRequest | null> {
    const [row] = await this.#rows<RequestRow>(SQL.getRequest, [id]);
    return row === undefined ? null : rowToRequest(row);
  }

  async getGrant(id: string): Promise<Grant | null> {
    const [row] = await this.#rows<GrantRow>(SQL.getGrant, [id]);
    return row === undefined ? null : rowToGrant(row);
  }

  async listGrants(filter: GrantFilter): Promise<readonly Grant[]> {
    if (filter.states?.length === 0) return [];
    const { sql, values } = listQuery(SQL.grantSelect, filter.limit, [
      ["state = ANY(?::text[])", filter.states],
      ["identity_id = ?", filter.identityId],
      ["target_id = ?", filter.targetId],
      ["id > ?", filter.after],
    ]);
    return (await this.#rows<GrantRow>(sql, values)).map(rowToGrant);
  }

  async dueGrants(now: Millis, limit: number): Promise<readonly Grant[]> {
    return (await this.#rows<GrantRow>(SQL.dueGrants, [now, checkLimit(limit)])).map(rowToGrant);
  }

  async claimDue(request: ClaimRequest): Promise<readonly Grant[]> {
    const limit = checkLimit(request.limit);
    if (limit === 0) return [];
    const rows = await this.#rows<GrantRow & { claimed_due: number }>(SQL.claimDue, [
      request.now,
      limit,
      request.now + request.leaseMs,
    ]);
    return rows.sort((a, b) => a.claimed_due - b.claimed_due).map(rowToGrant);
  }

  async pruneHistory(request: { endedBefore: Millis; limit: number }): Promise<{ grants: number; requests: number }> {
    const limit = checkLimit(request.limit);
    const grants = await this.#rows<{ id: string }>(SQL.pruneGrants, [
      request.endedBefore,
      idBound("grt", request.endedBefore),
      limit,
    ]);
    const requests = await this.#rows<{ id: string }>(SQL.pruneRequests, [
      request.endedBefore,
      idBound("req", request.endedBefore),
      limit,
    ]);
    return { grants: grants.length, requests: requests.length };
  }

  async releaseClaims(): Promise<number> {
    return (await this.#rows<{ id: string }>(SQL.releaseClaims, [])).length;
  }

  async nextDueAt(): Promise<Millis | null> {
    const [row] = await this.#rows<{ due: number | null }>(SQL.nextDueAt, []);
    return row?.due ?? null;
  }

  async grantsInStates(states: readonly GrantState[], limit: number): Promise<readonly Grant[]> {
    checkLimit(limit);
    if (states.length === 0) return [];
    return (await this.#rows<GrantRow>(SQL.grantsInStates, [states, limit])).map(rowToGrant);
  }

  async countGrantsByState(): Promise<ReadonlyMap<GrantState, number>> {
    return countsByState(await this.#rows<{ state: string; n: number }>(SQL.countByState, []));
  }

  async countActiveGrants(): Promise<readonly { targetId: string; entitlement: string; count: number }[]> {
    return this.#rows(SQL.countActive, []);
  }

  async listAudit(afterSeq: number, limit: number): Promise<readonly AuditEvent[]> {
    return (await this.#rows<AuditRow>(SQL.listAudit, [afterSeq, checkLimit(limit)])).map(rowToEvent);
  }

  async auditFor(subject: { grantId?: string; requestId?: string }, limit: number): Promise<readonly AuditEvent[]> {
    checkLimit(limit);
    const { grantId, requestId } = subject;
    const query =
      grantId !== undefined && requestId !== undefined
        ? { sql: SQL.auditForEither, values: [grantId, requestId, limit] }
        : grantId !== undefined
          ? { sql: SQL.auditForGrant, values: [grantId, limit] }
          : requestId !== undefined
            ? { sql: SQL.auditForRequest, values: [requestId, limit] }
            : null;
    if (query === null) throw new TypeError("auditFor needs a grantId or a requestId");
    return (await this.#rows<AuditRow>(query.sql, query.values)).map(rowToEvent);
  }

  async auditHead(): Promise<{ seq: number; hash: string }> {
    const [row] = await this.#rows<{ seq: number; hash: string }>(SQL.auditHead, []);
    if (!row) throw new StoreUnavailableError("audit_head has no row: the schema is damaged");
    return { seq: row.seq, hash: row.hash };
  }

  async listRequests(filter: RequestFilter): Promise<readonly AccessRequest[]> {
    if (filter.states?.length === 0) return [];
    const { sql, values } = listQuery(SQL.requestSelect, filter.limit, [
      ["state = ANY(?::text[])", filter.states],
      ["identity_id = ?", filter.identityId],
      ["id > ?", filter.after],
    ]);
    return (await this.#rows<RequestRow>(sql, values)).map(rowToRequest);
  }

  async dueRequests(now: Millis, limit: number): Promise<readonly AccessRequest[]> {
    return (await this.#rows<RequestRow>(SQL.dueRequests, [now, checkLimit(limit)])).map(rowToRequest);
  }

  async countOverdueReviews(now: Millis): Promise<number> {
    const [row] = await this.#rows<{ n: number }>(SQL.countOverdueReviews, [now]);
    return Number(row?.n ?? 0);
  }

  async claimDueNotifications(request: ClaimRequest): Promise<readonly NotificationRecord[]> {
    const limit = checkLimit(request.limit);
    if (limit === 0) return [];
    const rows = await this.#rows<NotificationRow & { claimed_due: number }>(SQL.claimNotifications, [
      request.now,
      limit,
      request.now + request.leaseMs,
    ]);
    return rows.sort((a, b) => a.claimed_due - b.claimed_due || (a.id < b.id ? -1 : 1)).map(rowToNotification);
  }

  async settleNotification(notification: NotificationRecord): Promise<void> {
    const sql = WRITES.settleNotification;
    await this.#rows(sql.text, bind(sql, notificationToRow(notification)));
  }

  async listNotifications(filter: {
    readonly states?: readonly NotificationRecord["state"][];
    readonly after?: string;
    readonly limit: number;
  }): Promise<readonly NotificationRecord[]> {
    if (filter.states?.length === 0) return [];
    const { sql, values } = listQuery(SQL.notificationSelect, filter.limit, [
      ["state = ANY(?::text[])", filter.states],
      ["id > ?", filter.after],
    ]);
    return (await this.#rows<NotificationRow>(sql, values)).map(rowToNotification);
  }

  async getIdentity(id: string): Promise<IdentityRecord | null> {
    const [row] = await this.#rows<IdentityRow>(SQL.getIdentity, [id]);
    return row === undefined ? null : rowToIdentity(row);
  }

  async listIdentities(filter: IdentityFilter): Promise<readonly IdentityRecord[]> {
    if (filter.statuses?.length === 0 || filter.kinds?.length === 0) return [];
    const { sql, values } = listQuery(SQL.identitySelect, filter.limit, [
      ["status = ANY(?::text[])", filter.statuses],
      ["kind = ANY(?::text[])", filter.kinds],
      ["owner = ?", filter.owner],
      ["id > ?", filter.after],
    ]);
    return (await this.#rows<IdentityRow>(sql, values)).map(rowToIdentity);
  }

  async markIdentitiesSeen(sightings: readonly IdentitySighting[]): Promise<void> {
    if (sightings.length === 0) return;
    await this.#rows(SQL.markSeen, [sightings.map((s) => s.id), sightings.map((s) => s.at)]);
  }

  async markGrantsUsed(usage: readonly GrantUsage[]): Promise<void> {
    if (usage.length === 0) return;
    await this.#rows(SQL.markGrantsUsed, [usage.map((u) => u.grantId), usage.map((u) => u.at)]);
  }

  async grantReport(range: ReportRange): Promise<GrantReport> {
    const [row] = await this.#rows<GrantReportRow>(SQL.grantReport.text, bind(SQL.grantReport, range));
    const verified = verifiedCount(row);
    const at = async (q: number): Promise<number | null> => {
      if (verified === 0) return null;
      const params = { from: range.from, to: range.to, offset: rankOffset(q, verified) };
      const [ranked] = await this.#rows<{ ms: string }>(SQL.privilegeAtRank.text, bind(SQL.privilegeAtRank, params));
      return ranked === undefined ? null : Number(ranked.ms);
    };
    return grantReportOf(row, { median: await at(0.5), p99: await at(0.99) });
  }

  async putApiKey(record: ApiKeyRecord): Promise<void> {
    await this.#rows(SQL.putApiKey, [record.keyId, record.identityId, record.hash, record.createdAt, record.revokedAt]);
  }

  async findApiKey(keyId: string): Promise<ApiKeyRecord | null> {
    const [row] = await this.#rows<ApiKeyRow>(SQL.findApiKey, [keyId]);
    return row === undefined ? null : rowToApiKey(row);
  }

  /** Returns the entry even past its expiry until it is purged: callers compare `expiresAt`. */
  async getState(namespace: string, key: string): Promise<StoredState | null> {
    const [row] = await this.#rows<StateRow>(SQL.getState, [namespace, key]);
    return row === undefined ? null : rowToState(row);
  }

  async listState(namespace: string): Promise<readonly StoredState[]> {
    return (await this.#rows<StateRow>(SQL.listState, [namespace])).map(rowToState);
  }

  async purgeExpiredState(now: Millis): Promise<number> {
    return this.#client(async (client) => (await client.query(SQL.purgeState, [now])).rowCount ?? 0);
  }

  async acquireLease(request: LeaseRequest): Promise<HeldLease | null> {
    const params = {
      name: request.name,
      holder: request.holder,
      expires_at: request.now + request.ttlMs,
      now: request.now,
    };
    const [row] = await this.#rows<LeaseRow>(SQL.acquireLease.text, bind(SQL.acquireLease, params));
    return row === undefined ? null : rowToLease(row);
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.#rows(SQL.releaseLease, [name, holder]);
  }

  /** False when the server does not answer within PING_TIMEOUT_MS: a hung server must not hang readiness too. */
  async ping(): Promise<boolean> {
    if (this.#closed) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
      timer.unref();
    });
    const answer = this.#rows<{ ok: number }>("SELECT 1 AS ok", []).then(
      ([row]) => row?.ok === 1,
      () => false,
    );
    try {
      return await Promise.race([answer, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Commits whatever is queued, then closes the pool; later calls fail with StoreUnavailableError. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#batcher.drain();
    this.#closed = true;
    await this.#pool.end().catch(() => {});
  }

  #commit(batch: readonly Pending<ChangeSet, readonly AuditEvent[]>[]): Promise<void> {
    return this.#client((client) => runBatch(client, batch, this.#stats)).catch((error: unknown) => {
      const failure = error instanceof StoreUnavailableError ? error : unavailable("the store could not commit", error);
      for (const job of batch) job.reject(failure);
    });
  }

  #client<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError("the store is closed"));
    return withClient(this.#pool, work);
  }

  /** One statement on any pooled connection; a database or network failure is StoreUnavailableError. */
  async #rows<R extends QueryResultRow>(sql: string, values: readonly unknown[]): Promise<R[]> {
    if (this.#closed) throw new StoreUnavailableError("the store is closed");
    try {
      return (await this.#pool.query<R>(sql, values as unknown[])).rows;
    } catch (error) {
      throw unavailable("PostgreSQL did not answer", error);
    }
  }
}

/** Connects, brings the schema up to date, and returns the store. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const store = new PostgresStore(options);
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
