// What every lifecycle stage needs: the ports it uses and the settings that shape removal. Built once in main.ts.
import type { AuditHmac } from "../../audit/index.js";
import type { Connector, CredentialBinding, EntitlementSpec } from "../../connectors/index.js";
import type { ClientSignal, Grant, Identity, Millis } from "../../domain/index.js";
import type { AuthenticationFacts } from "../../identity/index.js";
import type { Notifier } from "../../notifications/index.js";
import type { PolicyDecider } from "../../policy/index.js";
import type { Store } from "../../storage/index.js";
import type { Clock, Logger, Sealer } from "../../support/index.js";

/** What a use case is told about the call it serves: where it came from and how the caller proved itself. */
export interface RequestMeta {
  readonly sourceAddress: string | null;
  /** How the caller authenticated; null or absent when the use case runs outside HTTP (tests, library use). */
  readonly authentication?: AuthenticationFacts | null;
  /**
   * A key the caller proved it holds (a verified DPoP proof): the credential is bound to it. `replayKey` names the
   * proof, which, like a workload token, is used for issuing once, until `until`.
   */
  readonly proof?: { readonly binding: CredentialBinding; readonly replayKey: string; readonly until: Millis } | null;
  /** The caller's Idempotency-Key: a retry with the same key and parameters answers the first request's outcome. */
  readonly idempotencyKey?: string | undefined;
  /** Whether a person drives the call (the CLI on a terminal, a browser); absent for plain API clients. */
  readonly client?: ClientSignal;
}

/** Lookups of what the configuration declares. */
export interface Catalog {
  /** The identity as registered now (status included), or undefined when the broker does not know it. */
  identity(id: string): Promise<Identity | undefined>;
  entitlement(name: string): EntitlementSpec | undefined;
  connector(targetId: string): Connector | undefined;
}

/** Hooks the lifecycle reports to: metrics count them, the expiry scheduler learns when a grant is due. */
export interface LifecycleObserver {
  decision(outcome: "allow" | "deny" | "rejected"): void;
  issued(grant: Grant): void;
  renewed(grant: Grant): void;
  removalFailed(grant: Grant): void;
  /** Removal verified; `overrunMs` is how long after `expiresAt` it happened (negative when ended early). */
  verified(grant: Grant, overrunMs: number): void;
  /** An approval-stage event: pending, approved, denied, cancelled, timed out, break-glass, review overdue. */
  approval?(event: ApprovalEvent): void;
  /** A pending request decided by approvers: from the request to the quorum met (approved) or the denial. */
  approvalLatency?(outcome: "approved" | "denied", ms: number): void;
}

export type ApprovalEvent =
  | "pending"
  | "approval_recorded"
  | "approved"
  | "denied"
  | "cancelled"
  | "timed_out"
  | "collected"
  | "break_glass"
  | "review_recorded"
  | "review_overdue"
  | "policy_revoked";

export interface ApprovalSettings {
  /** How long a request waits for its quorum. */
  readonly pendingTimeoutMs: number;
  /** How long an approved request waits for its requester to collect the credential. */
  readonly collectTimeoutMs: number;
  /** The longest break-glass grant, whatever policy says. */
  readonly breakGlassMaxSeconds: number;
  /** How long an approver has to record the review of a break-glass grant. */
  readonly reviewWithinMs: number;
}

export interface LifecycleSettings {
  /** How long a worker owns a grant it is issuing or removing before another may take it over. */
  readonly removalClaimMs: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  /** Approval and break-glass timing; defaults apply when absent (tests, library use). */
  readonly approvals?: ApprovalSettings;
}

export interface LifecycleDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Seals the probe secrets kept until removal is verified. */
  readonly sealer: Sealer;
  readonly catalog: Catalog;
  readonly decider: PolicyDecider;
  readonly observer: LifecycleObserver;
  /** Where notifications go (the outbox); absent means none are sent. */
  readonly notifier?: Notifier;
  readonly settings: LifecycleSettings;
  /** In [0, 1); injected so backoff jitter is testable. */
  readonly random: () => number;
  /** Keyed HMAC for values audit events must let an auditor match but must not hold (token ids, addresses). */
  readonly auditHmac: AuditHmac;
  /** Batches usage the broker sees itself (token introspection); absent: each sighting is written at once. */
  readonly usage?: UsageSink;
}

/** Takes sightings of grants in use and writes them in batches (monitor/usage-recorder.ts). */
export interface UsageSink {
  used(grantId: string): void;
  /** Writes what is queued now (before a grant's last look, and at shutdown). */
  flush(): Promise<void>;
}
