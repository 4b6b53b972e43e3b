// The store port: everything the broker keeps durably. Writes are change sets applied atomically with their audit events.
import type {
  AccessRequest,
  AuditDraft,
  AuditEvent,
  Grant,
  GrantState,
  IdentityKind,
  IdentityRecord,
  IdentityStatus,
  Millis,
  RequestState,
} from "../domain/types.js";

/** One write inside a change set. Updates name the version they read; a mismatch fails the whole set. */
export type Write =
  | { readonly kind: "insertRequest"; readonly request: AccessRequest }
  | { readonly kind: "updateRequest"; readonly request: AccessRequest; readonly expectedVersion: number }
  | { readonly kind: "insertGrant"; readonly grant: Grant }
  | { readonly kind: "updateGrant"; readonly grant: Grant; readonly expectedVersion: number }
  | { readonly kind: "insertIdentity"; readonly identity: IdentityRecord }
  | { readonly kind: "updateIdentity"; readonly identity: IdentityRecord; readonly expectedVersion: number }
  | {
      readonly kind: "putState";
      readonly namespace: string;
      readonly key: string;
      readonly value: unknown;
      readonly expiresAt: Millis | null;
    }
  | { readonly kind: "deleteState"; readonly namespace: string; readonly key: string }
  /** A notification for the outbox, committed with the state change it reports and delivered afterwards. */
  | { readonly kind: "insertNotification"; readonly notification: NotificationRecord }
  /** A notification given up on (dead-lettered), with the audit event that says so. */
  | { readonly kind: "settleNotification"; readonly notification: NotificationRecord }
  /**
   * Takes `namespace/key` for the caller until `expiresAt` (null: for good): fails the whole change set with
   * ConflictError while another claim on it is live (no expiry, or an expiry after `now`); an expired claim is taken
   * over. Atomic in the store, so across replicas sharing it exactly one of several racing writers wins (single-use
   * workload tokens, idempotency keys, leases).
   */
  | {
      readonly kind: "claimOnce";
      readonly namespace: string;
      readonly key: string;
      readonly value: unknown;
      readonly expiresAt: Millis | null;
      readonly now: Millis;
    }
  /**
   * Compare-and-set: replaces the entry only while it still holds `expected` (`null`: only while the key is absent);
   * otherwise the whole change set fails with ConflictError. Values compare as their JSON text.
   */
  | {
      readonly kind: "replaceState";
      readonly namespace: string;
      readonly key: string;
      readonly value: unknown;
      readonly expiresAt: Millis | null;
      readonly expected: { readonly value: unknown } | null;
    };

/**
 * A unit of work: its writes and the audit events that record them commit together or not at all.
 * A change set with no audit event is refused: every state change is audited (DESIGN §6.9).
 */
export interface ChangeSet {
  readonly writes: readonly Write[];
  readonly audit: readonly AuditDraft[];
}

export interface GrantFilter {
  readonly states?: readonly GrantState[];
  readonly identityId?: string;
  readonly targetId?: string;
  /** Page after this grant id (ids sort by creation). */
  readonly after?: string;
  readonly limit: number;
}

export interface RequestFilter {
  readonly states?: readonly RequestState[];
  readonly identityId?: string;
  /** Page after this request id (ids sort by creation). */
  readonly after?: string;
  readonly limit: number;
}

/** One notification to one webhook: `pending` until delivered, `dead` after its last failed attempt. */
export interface NotificationRecord {
  readonly id: string;
  /** The webhook's name. */
  readonly sink: string;
  readonly event: string;
  /** Non-secret JSON: what happened, to which request or grant. */
  readonly payload: Readonly<Record<string, unknown>>;
  readonly state: "pending" | "delivered" | "dead";
  readonly attempts: number;
  /** When the next delivery attempt is due; null once delivered or dead. */
  readonly nextAttemptAt: Millis | null;
  readonly lastError: string | null;
  readonly createdAt: Millis;
  readonly deliveredAt: Millis | null;
}

export interface IdentityFilter {
  readonly statuses?: readonly IdentityStatus[];
  readonly kinds?: readonly IdentityKind[];
  readonly owner?: string;
  /** Page after this identity id (identities list in id order). */
  readonly after?: string;
  readonly limit: number;
}

/** An identity authenticated at `at`; recorded outside change sets because a sighting changes no state. */
export interface IdentitySighting {
  readonly id: string;
  readonly at: Millis;
}

export interface ApiKeyRecord {
  /** The public part of the key, after the prefix; used to find the record. */
  readonly keyId: string;
  readonly identityId: string;
  /** `sha256:<hex>` of the whole key. */
  readonly hash: string;
  readonly createdAt: Millis;
  readonly revokedAt: Millis | null;
}

export interface StoredState {
  readonly key: string;
  readonly value: unknown;
  readonly expiresAt: Millis | null;
}

/** What `claimDue` takes: grants due by `now`, at most `limit`, each leased for `leaseMs`. */
export interface ClaimRequest {
  readonly now: Millis;
  readonly limit: number;
  readonly leaseMs: number;
}

/** A named lease some replica holds until `expiresAt`; `token` grows each time the lease changes hands (fencing). */
export interface LeaseRequest {
  readonly name: string;
  /** Who asks: one id per broker process. */
  readonly holder: string;
  readonly now: Millis;
  readonly ttlMs: number;
}

export interface HeldLease {
  readonly name: string;
  readonly holder: string;
  readonly expiresAt: Millis;
  readonly token: number;
}

/** The target showed a grant's credential in use at `at` (a session, a connection, an introspection). */
export interface GrantUsage {
  readonly grantId: string;
  readonly at: Millis;
}

/** Grants issued in `[from, to)`; `now` decides overruns of grants whose removal is not verified yet. */
export interface ReportRange {
  readonly from: Millis;
  readonly to: Millis;
  readonly now: Millis;
}

/** Aggregates over the grants issued in a range, computed in the store (never by loading every grant). */
export interface GrantReport {
  readonly issued: number;
  /** Of those, how many have ended (their removal is due). */
  readonly ended: number;
  /** Of those, how many have their removal verified. */
  readonly verifiedRemoval: number;
  /** Access that outlived its expiry by more than 2 s: verified (or, unverified, still present at `now`) after it. */
  readonly overrunsOver2s: number;
  /** Grants whose receipt says `unused: true`: the target records every use and showed none. */
  readonly unused: number;
  /** Grants with a receipt that cannot say whether they were used (`unused: null`): use could have gone unseen. */
  readonly usageNotObservable: number;
  /** Renewals of those grants, summed. */
  readonly renewals: number;
  /** Issue → verified removal, nearest-rank percentiles over verified grants; null when none is verified. */
  readonly privilegeMs: { readonly median: number | null; readonly p99: number | null };
}

export interface Store {
  /** Creates or upgrades the schema. Safe to call on every start. */
  migrate(): Promise<void>;
  /** Applies a change set atomically and durably; returns the audit events as chained. Throws ConflictError on a version mismatch. */
  apply(changes: ChangeSet): Promise<readonly AuditEvent[]>;

  getRequest(id: string): Promise<AccessRequest | null>;
  getGrant(id: string): Promise<Grant | null>;
  listGrants(filter: GrantFilter): Promise<readonly Grant[]>;
  /** Grants whose `dueAt` has passed, earliest first, through the due index: cost does not grow with the number of live grants. */
  dueGrants(now: Millis, limit: number): Promise<readonly Grant[]>;
  /**
   * Claims due grants for this worker, earliest first: each returned grant has `dueAt = now + leaseMs` and its version
   * moved up by one, both committed before it is returned. The version is the fencing token: every later write of the
   * grant names it, so if the lease lapses and another replica claims the grant, this worker's next write fails with
   * ConflictError. Rows another replica is claiming at the same moment are skipped, not waited for.
   */
  claimDue(request: ClaimRequest): Promise<readonly Grant[]>;
  /**
   * After a restart on a store no other process uses: every active grant that a dead process had claimed at its expiry
   * (its `dueAt` moved to the end of that claim) is due at its expiry again, with its version moved (fencing). Without
   * this, a grant claimed just before a crash would outlive its expiry by the whole claim lease. Returns how many.
   */
  releaseClaims(): Promise<number>;
  /**
   * Deletes history past its retention: grants `verified` before `endedBefore`, then requests in a final state last
   * changed before it that no grant refers to; at most `limit` of each per call. Ids sort by creation, so only rows
   * created before `endedBefore` are looked at. Audit events are never deleted: they keep every receipt.
   */
  pruneHistory(request: { readonly endedBefore: Millis; readonly limit: number }): Promise<{
    grants: number;
    requests: number;
  }>;
  /** The earliest `dueAt` of any grant, or null when nothing is scheduled. */
  nextDueAt(): Promise<Millis | null>;
  grantsInStates(states: readonly GrantState[], limit: number): Promise<readonly Grant[]>;
  countGrantsByState(): Promise<ReadonlyMap<GrantState, number>>;
  /** Active grants counted by target and entitlement, for metrics. */
  countActiveGrants(): Promise<readonly { targetId: string; entitlement: string; count: number }[]>;

  /**
   * Records usage: `firstUsedAt` is the earliest sighting, `lastUsedAt` the latest, whatever order they arrive in. Not audited and not
   * versioned, like identity sightings: usage is telemetry and must not conflict with the grant's own state changes.
   */
  markGrantsUsed(usage: readonly GrantUsage[]): Promise<void>;
  /** The report's grant figures for a time range, in SQL through the `grants_issued` index. */
  grantReport(range: ReportRange): Promise<GrantReport>;

  listRequests(filter: RequestFilter): Promise<readonly AccessRequest[]>;
  /** Requests whose `dueAt` has passed (timeouts, review deadlines), earliest first, through the due index. */
  dueRequests(now: Millis, limit: number): Promise<readonly AccessRequest[]>;
  /** Break-glass requests whose review is not recorded and whose deadline has passed. */
  countOverdueReviews(now: Millis): Promise<number>;

  /**
   * Takes the notifications whose next attempt is due, earliest first, for one delivery attempt: each one's next
   * attempt moves to `now + leaseMs` in the same statement, so replicas sharing the store never deliver the same one
   * at once, and one a dead replica took is tried again once the lease lapses (delivery is at least once).
   */
  claimDueNotifications(request: ClaimRequest): Promise<readonly NotificationRecord[]>;
  /** Records a delivery attempt's outcome outside change sets: delivery is telemetry, not a state change. */
  settleNotification(notification: NotificationRecord): Promise<void>;
  listNotifications(filter: {
    readonly states?: readonly NotificationRecord["state"][];
    readonly after?: string;
    readonly limit: number;
  }): Promise<readonly NotificationRecord[]>;

  /** Audit events with `seq > afterSeq`, in order. */
  listAudit(afterSeq: number, limit: number): Promise<readonly AuditEvent[]>;
  /** Audit events of one grant or request, in order. */
  auditFor(subject: { grantId?: string; requestId?: string }, limit: number): Promise<readonly AuditEvent[]>;
  auditHead(): Promise<{ seq: number; hash: string }>;

  getIdentity(id: string): Promise<IdentityRecord | null>;
  listIdentities(filter: IdentityFilter): Promise<readonly IdentityRecord[]>;
  /**
   * Records sightings: `lastSeenAt` moves forward to `at` (never back), `firstSeenAt` is set once. Not audited and not
   * versioned: a sighting is telemetry, and it must not conflict with a concurrent status change.
   */
  markIdentitiesSeen(sightings: readonly IdentitySighting[]): Promise<void>;

  putApiKey(record: ApiKeyRecord): Promise<void>;
  findApiKey(keyId: string): Promise<ApiKeyRecord | null>;

  /** Connector-owned state (signing keys, deny-lists): namespaced, JSON, optionally expiring. Writes go through change sets. */
  getState(namespace: string, key: string): Promise<StoredState | null>;
  listState(namespace: string): Promise<readonly StoredState[]>;
  /** Deletes expired connector state; returns how many rows went. */
  purgeExpiredState(now: Millis): Promise<number>;

  /**
   * Takes or renews the lease `name` for `holder` when it is free, expired at `now`, or already the holder's; returns
   * it, or null while someone else holds it. Coordination only (one maintenance pass at a time): not audited.
   */
  acquireLease(request: LeaseRequest): Promise<HeldLease | null>;
  /** Gives the lease up early, if `holder` still holds it. */
  releaseLease(name: string, holder: string): Promise<void>;

  /** True when the store answers; for readiness. */
  ping(): Promise<boolean>;
  /** False after a commit the database could not make (not a conflict), until a commit lands again; for readiness. */
  readonly writable: boolean;
  close(): Promise<void>;
}

/** A change set named a version that is no longer current: someone else changed the row first. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConflictError";
  }
}

/** The store could not commit (disk, lock, connection): the change did not happen. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}
