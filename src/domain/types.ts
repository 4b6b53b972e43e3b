// Pure domain types of the broker: identities, requests, grants and audit drafts. No I/O here.

/** Epoch milliseconds. Every time in the domain is one of these; the clock is injected. */
export type Millis = number;

export type IdentityKind = "service_account" | "workload" | "pipeline" | "agent" | "human";
export type IdentityStatus = "active" | "dormant" | "offboarded";

export interface Identity {
  readonly id: string;
  readonly kind: IdentityKind;
  /** Person or team answerable for the identity; required for non-human identities. */
  readonly owner: string | null;
  readonly groups: readonly string[];
  readonly attributes: Readonly<Record<string, string>>;
  readonly status: IdentityStatus;
  /** May act on every identity's requests and grants and read the audit log. */
  readonly admin: boolean;
}

/**
 * An identity as the broker's registry keeps it: the definition (from the config file or from the trust rule that
 * first admitted it) plus what the broker has learnt of it. Status lives here, not in config, so offboarding and
 * dormancy survive restarts and hold across replicas.
 */
export interface IdentityRecord extends Identity {
  /** Where the definition comes from: `config`, or the trust rule that first admitted the identity (`oidc:<rule>`). */
  readonly source: string;
  /** Why the status is what it is (who offboarded it, how long it was unseen); null while active. */
  readonly statusReason: string | null;
  /** First and last time the identity authenticated; null until it has. */
  readonly firstSeenAt: Millis | null;
  readonly lastSeenAt: Millis | null;
  readonly createdAt: Millis;
  readonly updatedAt: Millis;
  /** Optimistic-concurrency counter, as for requests and grants. */
  readonly version: number;
}

export type RequestState = "pending" | "approved" | "denied" | "cancelled" | "timed_out" | "issued" | "failed";

export interface Decision {
  readonly outcome: "allow" | "deny";
  readonly approval: "auto";
  /** What decided: the allow-list rule index today, Cedar policy ids later. */
  readonly determiningPolicies: readonly string[];
  readonly reason: string;
  readonly maxDurationSeconds: number | null;
}

export interface AccessRequest {
  readonly id: string;
  readonly identityId: string;
  /** Full entitlement name, `target/entitlement`. */
  readonly entitlement: string;
  readonly targetId: string;
  readonly durationSeconds: number;
  readonly justification: string | null;
  readonly ticket: string | null;
  readonly intent: string | null;
  readonly breakGlass: boolean;
  readonly state: RequestState;
  readonly decision: Decision | null;
  readonly grantId: string | null;
  /** Why the request ended where it did (denial reason, issue failure), never a secret. */
  readonly stateReason: string | null;
  readonly createdAt: Millis;
  readonly updatedAt: Millis;
  /** Optimistic-concurrency counter: every update must name the version it read. */
  readonly version: number;
}

export type GrantState = "issuing" | "active" | "revoking" | "revoke_failed" | "revoked" | "verified";

/** Why a grant ended. */
export type EndReason =
  | "expired"
  | "completed"
  | "revoked"
  | "issue_failed"
  | "recovered"
  | "offboarded"
  | "policy_changed";

/** What removal verification checked and saw; stored with the grant and in its audit event. */
export interface RemovalEvidence {
  readonly checkedAt: Millis;
  readonly checks: readonly { readonly check: string; readonly passed: boolean; readonly observed: string }[];
}

export interface Grant {
  readonly id: string;
  readonly requestId: string;
  readonly identityId: string;
  readonly targetId: string;
  readonly entitlement: string;
  readonly connectorType: string;
  /** The downstream handle chosen before the downstream call: username, token id, certificate serial. Never a secret. */
  readonly handle: string;
  /** Non-secret details the connector needs to remove the access later (key id, role names…). */
  readonly handleData: Readonly<Record<string, unknown>>;
  readonly state: GrantState;
  readonly createdAt: Millis;
  readonly issuedAt: Millis | null;
  readonly expiresAt: Millis;
  /** Renewal never moves `expiresAt` past this. */
  readonly maxExpiresAt: Millis;
  readonly renewals: number;
  readonly endReason: EndReason | null;
  readonly endedAt: Millis | null;
  readonly endedBy: string | null;
  /** Removal attempts made so far (resets never; used for backoff). */
  readonly attempts: number;
  readonly lastError: string | null;
  readonly revokedAt: Millis | null;
  readonly verifiedAt: Millis | null;
  readonly evidence: RemovalEvidence | null;
  /**
   * When the scheduler must next act on this grant: expiry for active grants, the next attempt or the
   * lapse of a removal claim for grants being removed, null once nothing is left to do. Indexed.
   */
  readonly dueAt: Millis | null;
  readonly version: number;
}

export type Severity = "info" | "notice" | "warning" | "alert";

export interface Actor {
  readonly type: "identity" | "system" | "anonymous";
  /** Identity id for identities; a component name (`scheduler`, `recovery`) for the system. */
  readonly id: string;
}

/** An audit event before the log gives it a sequence number and chains it. */
export interface AuditDraft {
  readonly time: Millis;
  readonly code: string;
  readonly severity: Severity;
  readonly outcome: "success" | "failure" | "denied";
  readonly actor: Actor;
  readonly requestId: string | null;
  readonly grantId: string | null;
  readonly identityId: string | null;
  /** Non-secret details: decision, reason, evidence, validation errors. Must be JSON. */
  readonly data: Readonly<Record<string, unknown>>;
}

/** An audit event as stored: contiguous sequence, chained to the previous event by hash. */
export interface AuditEvent extends AuditDraft {
  readonly seq: number;
  readonly id: string;
  readonly prevHash: string;
  readonly hash: string;
}
