// The HTTP API's bodies as the client sees them: plain JSON types mirroring src/http/schemas.ts, with no server imports.

export type GrantState = "issuing" | "active" | "revoking" | "revoke_failed" | "revoked" | "verified";

/** A duration such as "15m", "1h30m", "90s", or whole seconds. */
export type Duration = string | number;

export interface RemovalEvidence {
  readonly checkedAt: string | null;
  readonly checks: readonly { readonly check: string; readonly passed: boolean; readonly observed: string }[];
}

export interface Grant {
  readonly id: string;
  readonly requestId: string;
  readonly identity: string;
  readonly target: string;
  readonly entitlement: string;
  readonly connectorType: string;
  /** The downstream handle (username, token id, serial); never a secret. */
  readonly handle: string;
  readonly state: GrantState;
  /** True only once removal was verified downstream. */
  readonly removed: boolean;
  readonly createdAt: string | null;
  readonly issuedAt: string | null;
  readonly expiresAt: string | null;
  readonly maxExpiresAt: string | null;
  readonly renewals: number;
  readonly endReason: string | null;
  readonly endedAt: string | null;
  readonly endedBy: string | null;
  readonly removalAttempts: number;
  readonly lastError: string | null;
  readonly revokedAt: string | null;
  readonly verifiedAt: string | null;
  readonly evidence: RemovalEvidence | null;
  /** First and last time the target showed the credential in use; null when never seen or it cannot tell. */
  readonly firstUsedAt: string | null;
  readonly lastUsedAt: string | null;
  /** Set once removal has started; complete (with `verification`) once removal is verified. */
  readonly receipt: RemovalReceipt | null;
}

/** What removal of a grant did and proved; handles and counts, never a secret. */
export interface RemovalReceipt {
  readonly removed: readonly string[];
  readonly sessionsEnded: { readonly count: number; readonly ids: readonly string[] } | null;
  readonly revokedAt: string | null;
  readonly verification: RemovalEvidence | null;
  readonly verifiedAt: string | null;
  readonly firstUsedAt: string | null;
  readonly lastUsedAt: string | null;
  /**
   * True only when the target records every use and showed none; false: seen in use; null: use could have gone unseen
   * (sessions polled between looks, tokens verified offline) or the target cannot show use.
   */
  readonly unused: boolean | null;
  /** How use was looked for, and so what `unused` can rest on. */
  readonly usageObservation: UsageObservation;
}

/**
 * `definitive`: the target records every use; `polled`: open sessions at each look (a short session between looks is
 * missed); `introspection`: tokens seen when introspected, never when verified offline; `none`: cannot show use.
 */
export interface UsageObservation {
  readonly method: "definitive" | "polled" | "introspection" | "none";
  readonly detail: string;
}

/** `GET /v1/entitlements`: an entitlement policy permits the caller to ask for now. */
export interface EntitlementView {
  /** `target/entitlement`: what to ask for. */
  readonly name: string;
  readonly target: string;
  readonly risk: string;
  readonly defaultDurationSeconds: number;
  /** The longest a request may ask for (the entitlement's maximum, or less where policy says so). */
  readonly maxDurationSeconds: number;
  /** `auto`: issued at once; `required`: approvers must agree first. */
  readonly approval: string;
  readonly approvers: readonly { readonly group: string; readonly count: number }[];
  readonly policies: readonly string[];
}

export interface Decision {
  readonly outcome: string;
  /** `auto` or `required`. */
  readonly approval: string;
  readonly reason: string;
  readonly policies: readonly string[];
  readonly maxDurationSeconds: number | null;
  /** Quorum rules when approval is required: `count` approvers from `group`, every rule. */
  readonly approvers: readonly { readonly group: string; readonly count: number }[];
  readonly flags: readonly string[];
  readonly policyVersion: string | null;
}

/** What a task says it needs: a task id and its actions (an agent's intent). */
export interface Intent {
  readonly task: string | null;
  readonly actions: readonly string[];
  readonly description: string | null;
}

export interface ApprovalView {
  readonly approver: string;
  readonly at: string | null;
  readonly groups: readonly string[];
  readonly note: string | null;
  /** False when the approval was given to an earlier version of the request: it no longer counts. */
  readonly current: boolean;
}

export interface ReviewView {
  readonly dueAt: string | null;
  readonly reviewedBy: string | null;
  readonly reviewedAt: string | null;
  readonly outcome: string | null;
  readonly note: string | null;
  readonly overdue: boolean;
}

export interface AccessRequest {
  readonly id: string;
  readonly identity: string;
  readonly entitlement: string;
  readonly durationSeconds: number;
  readonly justification: string | null;
  readonly ticket: string | null;
  readonly intent: Intent | null;
  readonly breakGlass: boolean;
  readonly state: string;
  readonly stateReason: string | null;
  readonly decision: Decision | null;
  /** Send it back with `approve`: an approval binds to the exact request it saw. */
  readonly requestHash: string;
  readonly approvals: readonly ApprovalView[];
  /** When the request times out (pending, uncollected) or its break-glass review is due. */
  readonly dueAt: string | null;
  readonly review: ReviewView | null;
  readonly grantId: string | null;
  readonly createdAt: string | null;
  readonly updatedAt: string | null;
}

/** What the broker hands out once: `fields` for code, `env` for `ephemera exec`. */
export interface WireCredential {
  readonly fields: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string>>;
}

export interface RequestInput {
  /** "target/entitlement", e.g. "demo-api/read". */
  readonly entitlement: string;
  readonly duration?: Duration;
  readonly justification?: string;
  readonly ticket?: string;
  /** Free text, or a task id and the actions it needs (carried into tokens as `authorization_details`). */
  readonly intent?:
    | string
    | { readonly task?: string; readonly actions?: readonly string[]; readonly description?: string };
  /** Issue at once where policy permits `break_glass`; needs a justification, and is reviewed afterwards. */
  readonly breakGlass?: boolean;
}

/** POST /v1/requests when approvers must agree first: the request, to be collected once approved. */
/** An Idempotency-Key retry: the request made before and its grant as they are now; never a credential. */
export interface ReplayedResult {
  readonly request: AccessRequest;
  readonly grant: Grant | null;
  readonly credential: null;
}

export interface PendingResult {
  readonly request: AccessRequest;
  readonly grant?: never;
  readonly credential?: never;
}

export interface RequestPage {
  readonly requests: readonly AccessRequest[];
  readonly next: string | null;
}

export interface RequestResult {
  readonly request: AccessRequest;
  readonly grant: Grant;
  readonly credential: WireCredential;
}

export interface RequestView {
  readonly request: AccessRequest;
  readonly grant: Grant | null;
}

export interface GrantFilter {
  /** One state or several (sent comma-separated). */
  readonly state?: GrantState | readonly GrantState[];
  readonly identity?: string;
  readonly target?: string;
  /** The last grant id of the previous page. */
  readonly after?: string;
  readonly limit?: number;
}

export interface GrantPage {
  readonly grants: readonly Grant[];
  /** Pass as `after` for the next page; null on the last page. */
  readonly next: string | null;
}

export interface RenewResult {
  readonly grant: Grant;
  /** A fresh credential when the connector issues one on renewal (token targets do). */
  readonly credential: WireCredential | null;
  /** True when the renewal was shortened to the grant's maximum. */
  readonly capped: boolean;
}

export interface AuditEvent {
  readonly seq: number;
  readonly id: string;
  readonly time: string | null;
  readonly code: string;
  readonly severity: string;
  readonly outcome: string;
  readonly actor: { readonly type: string; readonly id: string };
  readonly requestId: string | null;
  readonly grantId: string | null;
  readonly identityId: string | null;
  readonly data: Readonly<Record<string, unknown>>;
  readonly prevHash: string;
  readonly hash: string;
}

export interface AuditPage {
  readonly events: readonly AuditEvent[];
  /** Pass as `after` for the next page; null on the last page. */
  readonly next: number | null;
}

/** GET /v1/audit/verify: every hash and link recomputed; when broken, the first event that cannot be trusted. */
export interface AuditVerification {
  readonly ok: boolean;
  /** Events verified (when broken: those before `firstBadSeq`). */
  readonly count: number;
  readonly headSeq?: number;
  readonly headHash?: string;
  readonly firstBadSeq?: number;
  /** hash_mismatch, broken_link, gap, reordered, truncated or checkpoint_mismatch. */
  readonly problem?: string;
  readonly detail?: string;
  readonly [key: string]: unknown;
}

/** One target's part of a reconciliation report. */
export interface TargetDiscovery {
  readonly target: string;
  readonly type: string;
  /** False when the target's accounts could not be listed; `error` says why. */
  readonly ok: boolean;
  readonly error: string | null;
  readonly accounts: number;
  /** Broker-made accounts a live grant holds. */
  readonly held: number;
  /** Broker-made accounts no live grant held, removed by the run (they survived their window). */
  readonly removed: readonly string[];
  readonly removeFailed: readonly { readonly handle: string; readonly error: string }[];
  /** Accounts the broker does not manage: standing privilege. */
  readonly standing: readonly {
    readonly handle: string;
    readonly privileges: readonly string[];
    readonly admin: boolean;
    readonly broker: boolean;
  }[];
}

/** GET/POST /v1/discovery. */
/** `GET /v1/report`: grants issued in [from, to), how long access lasted, whether its removal was proven. */
export interface PrivilegeReport {
  readonly from: string;
  readonly to: string;
  readonly grants: {
    readonly issued: number;
    readonly ended: number;
    readonly verifiedRemoval: number;
    /** verifiedRemoval ÷ ended; null when none has ended. The goal is 1. */
    readonly verifiedShare: number | null;
    readonly overrunsOver2s: number;
    /** Grants the target proves were never used (definitive observation only). */
    readonly unused: number;
    /** Grants whose receipt cannot say whether they were used (`unused: null`): use could have gone unseen. */
    readonly usageNotObservable: number;
    readonly renewals: number;
  };
  readonly privilegeSeconds: { readonly median: number | null; readonly p99: number | null };
  readonly standing: readonly { readonly target: string; readonly accounts: number }[];
  readonly discoveredAt: string | null;
}

export interface DiscoveryReport {
  readonly generatedAt: string;
  readonly targets: readonly TargetDiscovery[];
  readonly totals: Readonly<Record<string, number>>;
}

/** GET /v1/targets. */
export interface TargetSummary {
  readonly id: string;
  readonly type: string;
  readonly healthy: boolean;
  readonly lastRotation: string | null;
}

/** POST /v1/targets/{target}/rotate. */
export interface RotationResult {
  readonly target: string;
  readonly rotated: boolean;
  readonly detail: string;
  readonly rotatedAt: string;
}

/** RFC 7662 introspection response. */
export interface Introspection {
  readonly active: boolean;
  readonly [key: string]: unknown;
}

/** An RFC 9457 problem document as the broker sends it. */
export interface Problem {
  /** `urn:ephemera:problem:<code>`. */
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  readonly [extension: string]: unknown;
}

export type IdentityStatus = "active" | "dormant" | "offboarded";

/** An identity in the inventory (`GET /v1/identities`): definition, status and why, sightings, active grants. */
export interface IdentityView {
  readonly id: string;
  readonly kind: string;
  readonly owner: string | null;
  /** A non-human identity nobody answers for. */
  readonly unowned: boolean;
  readonly groups: readonly string[];
  readonly attributes: Readonly<Record<string, string>>;
  readonly admin: boolean;
  readonly status: IdentityStatus;
  readonly statusReason: string | null;
  readonly source: string;
  readonly firstSeenAt: string | null;
  readonly lastSeenAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly activeGrants: number;
  readonly activeGrantIds: readonly string[];
}

export interface IdentityFilter {
  readonly status?: IdentityStatus | readonly IdentityStatus[];
  readonly kind?: string | readonly string[];
  readonly owner?: string;
  readonly unowned?: boolean;
  readonly after?: string;
  readonly limit?: number;
}

export interface IdentityPage {
  readonly identities: readonly IdentityView[];
  readonly next: string | null;
}

/** What `POST /v1/identities/{id}/offboard` reports. */
export interface OffboardResult {
  readonly identity: IdentityView;
  /** Carried by the `identity.offboarded` event and every grant end and cancellation it caused; null when nothing changed. */
  readonly correlationId: string | null;
  readonly changed: boolean;
  readonly grants: readonly { readonly id: string; readonly target: string; readonly state: GrantState }[];
  /** Ended grants whose removal is not verified yet (the scheduler retries them). */
  readonly removalsPending: number;
  readonly cancelledRequests: readonly string[];
  readonly inProgress: readonly { readonly id: string; readonly state: GrantState }[];
}
