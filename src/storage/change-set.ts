// Change sets: the one way state changes, its writes and the audit events that record them committed together.
import type { AccessRequest, AuditDraft, AuditEvent, Grant, IdentityRecord, Millis } from "../domain/index.js";
import type { NotificationRecord } from "./outbox.js";

/** One write inside a change set. Updates name the version they read; a mismatch fails the whole set. */
export type Write =
  | { readonly kind: "insertRequest"; readonly request: AccessRequest }
  | { readonly kind: "updateRequest"; readonly request: AccessRequest; readonly expectedVersion: number }
  | { readonly kind: "insertGrant"; readonly grant: Grant }
  | { readonly kind: "updateGrant"; readonly grant: Grant; readonly expectedVersion: number }
  | { readonly kind: "insertIdentity"; readonly identity: IdentityRecord }
  | { readonly kind: "updateIdentity"; readonly identity: IdentityRecord; readonly expectedVersion: number }
  /**
   * Holds the change set to an identity as its writer read it: fails the whole set with ConflictError unless the
   * identity is still `active` at `version`, and keeps its row from changing until the set commits (a shared row lock
   * on PostgreSQL; SQLite has one writer at a time). An offboarding that commits first fails the set; one that commits
   * after it sees what the set wrote.
   */
  | { readonly kind: "assertIdentityActive"; readonly identityId: string; readonly version: number }
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

/** Where change sets are applied: atomically and durably, returning the audit events as chained. */
export interface ChangeSets {
  /** Applies a change set atomically and durably; returns the audit events as chained. Throws ConflictError on a version mismatch. */
  apply(changes: ChangeSet): Promise<readonly AuditEvent[]>;
}
