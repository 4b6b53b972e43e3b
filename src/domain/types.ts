// Pure domain types of the broker: identities, requests, grants and audit drafts. No I/O here.

/** Epoch milliseconds. Every time in the domain is one of these; the clock is injected. */
export type Millis = number;

export type IdentityKind = "service_account" | "workload" | "pipeline" | "agent" | "human";

/**
 * The group whose members administer the broker unless policy says otherwise: Cedar's built-in rules (and the
 * allow-list) let it perform the privileged actions, and the deprecated `admin: true` means membership of it.
 */
export const ADMIN_GROUP = "admins";
export type IdentityStatus = "active" | "dormant" | "offboarded";

export interface Identity {
  readonly id: string;
  readonly kind: IdentityKind;
  /** Person or team answerable for the identity; required for non-human identities. */
  readonly owner: string | null;
  readonly groups: readonly string[];
  readonly attributes: Readonly<Record<string, string>>;
  readonly status: IdentityStatus;
  /**
   * In `ADMIN_GROUP` (the deprecated `admin: true` puts an identity there). Policy decides what admins may do; this
   * flag only keeps the last active admin from being offboarded or going dormant, and is `principal.admin` in Cedar.
   */
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

/** One clause of an approval requirement: `count` distinct approvers from `group`. */
export interface ApprovalRule {
  readonly group: string;
  readonly count: number;
}

export interface Decision {
  readonly outcome: "allow" | "deny";
  /** `auto`: issued at once; `required`: pending until every rule in `approvers` has its quorum. */
  readonly approval: "auto" | "required";
  /** What decided: the allow-list rule index, or Cedar policy ids. */
  readonly determiningPolicies: readonly string[];
  readonly reason: string;
  readonly maxDurationSeconds: number | null;
  /** Quorum rules from the permitting policies' `@approval` annotations (all must be met); empty when auto. */
  readonly approvers?: readonly ApprovalRule[];
  /** False when a permitting policy says the owner of a non-human identity may not approve its requests. */
  readonly ownerMayApprove?: boolean;
  /** `@flag` annotations of the permitting policies (e.g. human use of a non-human identity). */
  readonly flags?: readonly string[];
  /** The policy set that decided. */
  readonly policyVersion?: string;
}

/**
 * What an agent says its task needs (the `intent` of a request): a task id and the actions it will take. Carried into
 * tokens as RFC 9396 `authorization_details`; a plain-text intent has no task and no actions.
 */
export interface Intent {
  readonly task: string | null;
  readonly actions: readonly string[];
  readonly description: string | null;
}

/** One approval as recorded: who, when, and the hash of the exact request they saw. */
export interface Approval {
  readonly approver: string;
  readonly at: Millis;
  readonly requestHash: string;
  /** The approver's groups that the requirement names, at the time of approval. */
  readonly groups: readonly string[];
  readonly note: string | null;
}

/** The after-the-fact review every break-glass request must get. */
export interface BreakGlassReview {
  readonly dueAt: Millis;
  readonly reviewedBy: string | null;
  readonly reviewedAt: Millis | null;
  readonly outcome: "justified" | "unjustified" | null;
  readonly note: string | null;
  /** When the overdue alarm was raised; null until then. */
  readonly overdueAt: Millis | null;
}

/** What the caller's call looked like when the request was made; kept so policy can be asked again later. */
export interface RequestFacts {
  readonly sourceAddress: string | null;
  readonly authMethod: string | null;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly client: ClientSignal;
}

/** Whether a person is driving the call: a CLI on a terminal or a browser. Lets policy flag human use of an NHI. */
export interface ClientSignal {
  /**
   * `cli` (the ephemera CLI), `mcp` (`ephemera mcp`, tools for AI agents), `browser`, `tool` (curl, HTTPie, Postman…:
   * typed by a person), `api` (anything else).
   */
  readonly kind: "cli" | "mcp" | "browser" | "tool" | "api";
  readonly interactive: boolean;
  /** The program behind the call as it names itself (an MCP client's name and version); absent when not told. */
  readonly name?: string;
  readonly version?: string;
  /** The tool call that made the request (an MCP request id), to find the model's step in the agent's own logs. */
  readonly toolCallId?: string;
  /** The caller will show the credential to an AI model (`reveal` in `ephemera mcp`): flagged in the audit event. */
  readonly reveal?: boolean;
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
  readonly intent: Intent | null;
  readonly breakGlass: boolean;
  readonly state: RequestState;
  readonly decision: Decision | null;
  readonly grantId: string | null;
  /** Why the request ended where it did (denial reason, issue failure, timeout), never a secret. */
  readonly stateReason: string | null;
  readonly createdAt: Millis;
  readonly updatedAt: Millis;
  /** Optimistic-concurrency counter: every update must name the version it read. */
  readonly version: number;
  /** Bumped by every change of what is asked; part of the hash approvals bind to. */
  readonly revision: number;
  /** Approvals given so far; only those whose `requestHash` is the current hash count. */
  readonly approvals: readonly Approval[];
  /** When the sweeper must next act: pending or uncollected timeout, review deadline; null when nothing is due. */
  readonly dueAt: Millis | null;
  readonly review: BreakGlassReview | null;
  readonly facts: RequestFacts | null;
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

/**
 * What removing a grant did and proved, kept with the grant once it ends and carried by its `grant.verified` audit
 * event. Names what was removed by handle (role, ACL user, token id, certificate serial); never holds a secret.
 */
export interface RemovalReceipt {
  /** What the connector removed downstream; empty when it was already gone (a retry, a manual removal). */
  readonly removed: readonly string[];
  /** Sessions the removal ended; null for targets without sessions (signed tokens, certificates, HTTP roles). */
  readonly sessionsEnded: { readonly count: number; readonly ids: readonly string[] } | null;
  readonly revokedAt: Millis | null;
  /** The verification that proved removal: each check, what it looked at and what it saw. Null until verified. */
  readonly verification: RemovalEvidence | null;
  readonly verifiedAt: Millis | null;
  /** First and last time the target showed the credential in use (a session, a connection, an introspection). */
  readonly firstUsedAt: Millis | null;
  readonly lastUsedAt: Millis | null;
  /**
   * True only when the observation is definitive (the target records every use) and it shows none; false when the
   * grant was seen in use; null when use could have gone unseen (sessions polled between looks, tokens verified
   * offline, targets that cannot show use) or no credential was handed out.
   */
  readonly unused: boolean | null;
  /** How use was looked for, and so what `unused` can rest on. */
  readonly usageObservation: UsageObservation;
}

/**
 * How a grant's use is observed: `definitive`, the target records every use of the account (a login counter, a
 * history), so never seen means never used; `polled`, open sessions are looked for on an interval and once before
 * removal, so a session between two looks is missed; `introspection`, the broker sees a token when a resource server
 * introspects it, never when one verifies it offline; `none`, the target cannot show use.
 */
export type UsageObservationMethod = "definitive" | "polled" | "introspection" | "none";

export interface UsageObservation {
  readonly method: UsageObservationMethod;
  /** One sentence for a reader of the receipt: what was looked at and what it can miss. */
  readonly detail: string;
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
  /** First and last time the target showed the credential in use; recorded outside change sets (telemetry). */
  readonly firstUsedAt: Millis | null;
  readonly lastUsedAt: Millis | null;
  /** The removal receipt: started when revoke succeeds, completed when removal is verified. */
  readonly receipt: RemovalReceipt | null;
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
