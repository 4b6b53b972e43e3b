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
   * Takes `namespace/key` for the caller until `expiresAt`: fails the whole change set with ConflictError while
   * another claim on it is live (no expiry, or an expiry after `now`); an expired claim is taken over. Atomic in the
   * store, so it holds across every process that shares it (single-use workload tokens, one-shot operations).
   */
  | {
      readonly kind: "claimOnce";
      readonly namespace: string;
      readonly key: string;
      readonly value: unknown;
      readonly expiresAt: Millis;
      readonly now: Millis;
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
  /** The earliest `dueAt` of any grant, or null when nothing is scheduled. */
  nextDueAt(): Promise<Millis | null>;
  grantsInStates(states: readonly GrantState[], limit: number): Promise<readonly Grant[]>;
  countGrantsByState(): Promise<ReadonlyMap<GrantState, number>>;
  /** Active grants counted by target and entitlement, for metrics. */
  countActiveGrants(): Promise<readonly { targetId: string; entitlement: string; count: number }[]>;

  listRequests(filter: RequestFilter): Promise<readonly AccessRequest[]>;
  /** Requests whose `dueAt` has passed (timeouts, review deadlines), earliest first, through the due index. */
  dueRequests(now: Millis, limit: number): Promise<readonly AccessRequest[]>;
  /** Break-glass requests whose review is not recorded and whose deadline has passed. */
  countOverdueReviews(now: Millis): Promise<number>;

  /** Notifications whose next attempt is due, earliest first. */
  dueNotifications(now: Millis, limit: number): Promise<readonly NotificationRecord[]>;
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

  /** True when the store answers; for readiness. */
  ping(): Promise<boolean>;
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
