// The HTTP API's bodies as the client sees them: read-only views of the wire schemas in src/wire/, imported as types
// only, so the published client carries no server code; the client's own options (filters) are declared here.
import type { Static, TSchema } from "typebox";
import type {
  ApprovalSchema,
  AuditEventSchema,
  AuditExportPageSchema,
  AuditPageSchema,
  CreateRequestBody,
  CredentialSchema,
  DecisionSchema,
  DiscoveryReportSchema,
  Duration as DurationSchema,
  EntitlementViewSchema,
  EvidenceSchema,
  GrantPageSchema,
  GrantSchema,
  GrantStateSchema,
  IdentityPageSchema,
  IdentitySchema,
  IntentSchema,
  IntrospectionSchema,
  OffboardResultSchema,
  PendingResultSchema,
  PrivilegeReportSchema,
  ProblemSchema,
  ReceiptSchema,
  RenewResultSchema,
  ReplayedResultSchema,
  RequestPageSchema,
  RequestResultSchema,
  RequestSchema,
  RequestViewSchema,
  ReviewSchema,
  RotationResultSchema,
  TargetDiscoverySchema,
  TargetSummarySchema,
  UsageObservationSchema,
} from "../wire/index.js";

/** Read-only all the way down: the client hands out what the broker answered, not something to edit. */
type Immutable<T> = T extends readonly (infer U)[]
  ? readonly Immutable<U>[]
  : T extends object
    ? { readonly [K in keyof T]: Immutable<T[K]> }
    : T;

/** The JSON a schema describes, as the client receives it. */
type Wire<S extends TSchema> = Immutable<Static<S>>;

export type GrantState = Wire<typeof GrantStateSchema>;

/** A duration such as "15m", "1h30m", "90s", or whole seconds. */
export type Duration = Wire<typeof DurationSchema>;

export type RemovalEvidence = Wire<typeof EvidenceSchema>;

export type Grant = Wire<typeof GrantSchema>;

/** What removal of a grant did and proved; handles and counts, never a secret. */
export type RemovalReceipt = Wire<typeof ReceiptSchema>;

/**
 * `definitive`: the target records every use; `polled`: open sessions at each look (a short session between looks is
 * missed); `introspection`: tokens seen when introspected, never when verified offline; `none`: cannot show use.
 */
export type UsageObservation = Wire<typeof UsageObservationSchema>;

/** `GET /v1/entitlements`: an entitlement policy permits the caller to ask for now. */
export type EntitlementView = Wire<typeof EntitlementViewSchema>;

export type Decision = Wire<typeof DecisionSchema>;

/** What a task says it needs: a task id and its actions (an agent's intent). */
export type Intent = Wire<typeof IntentSchema>;

export type ApprovalView = Wire<typeof ApprovalSchema>;

export type ReviewView = Wire<typeof ReviewSchema>;

export type AccessRequest = Wire<typeof RequestSchema>;

/** What the broker hands out once: `fields` for code, `env` for `ephemera exec`. */
export type WireCredential = Wire<typeof CredentialSchema>;

/** The body of `POST /v1/requests`. */
export type RequestInput = Wire<typeof CreateRequestBody>;

/** An Idempotency-Key retry: the request made before and its grant as they are now; never a credential. */
export type ReplayedResult = Wire<typeof ReplayedResultSchema>;

/** POST /v1/requests when approvers must agree first: the request, to be collected once approved. */
export type PendingResult = Wire<typeof PendingResultSchema> & { readonly grant?: never; readonly credential?: never };

export type RequestPage = Wire<typeof RequestPageSchema>;

export type RequestResult = Wire<typeof RequestResultSchema>;

export type RequestView = Wire<typeof RequestViewSchema>;

export interface GrantFilter {
  /** One state or several (sent comma-separated). */
  readonly state?: GrantState | readonly GrantState[];
  readonly identity?: string;
  readonly target?: string;
  /** The last grant id of the previous page. */
  readonly after?: string;
  readonly limit?: number;
}

export type GrantPage = Wire<typeof GrantPageSchema>;

export type RenewResult = Wire<typeof RenewResultSchema>;

export type AuditEvent = Wire<typeof AuditEventSchema>;

export type AuditPage = Wire<typeof AuditPageSchema>;

export type AuditExportPage = Wire<typeof AuditExportPageSchema>;

/**
 * GET /v1/audit/verify: every hash and link recomputed; when broken, the first event that cannot be trusted. Declared
 * here because the route's schema is an open record; types.test.ts keeps it in step with the server's result.
 */
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
export type TargetDiscovery = Wire<typeof TargetDiscoverySchema>;

/** `GET /v1/report`: grants issued in [from, to), how long access lasted, whether its removal was proven. */
export type PrivilegeReport = Wire<typeof PrivilegeReportSchema>;

/** GET/POST /v1/discovery. */
export type DiscoveryReport = Wire<typeof DiscoveryReportSchema>;

/** GET /v1/targets. */
export type TargetSummary = Wire<typeof TargetSummarySchema>;

/** POST /v1/targets/{target}/rotate. */
export type RotationResult = Wire<typeof RotationResultSchema>;

/** RFC 7662 introspection response. */
export type Introspection = Wire<typeof IntrospectionSchema> & { readonly [key: string]: unknown };

/** An RFC 9457 problem document as the broker sends it. */
export type Problem = Wire<typeof ProblemSchema> & { readonly [extension: string]: unknown };

export type IdentityStatus = "active" | "dormant" | "offboarded";

/**
 * An identity in the inventory (`GET /v1/identities`): definition, status and why, sightings, active grants. The
 * schema types `status` as a string; the broker sends one of `IdentityStatus` (types.test.ts checks the presenter).
 */
export type IdentityView = Omit<Wire<typeof IdentitySchema>, "status"> & { readonly status: IdentityStatus };

export interface IdentityFilter {
  readonly status?: IdentityStatus | readonly IdentityStatus[];
  readonly kind?: string | readonly string[];
  readonly owner?: string;
  readonly unowned?: boolean;
  readonly after?: string;
  readonly limit?: number;
}

export type IdentityPage = Omit<Wire<typeof IdentityPageSchema>, "identities"> & {
  readonly identities: readonly IdentityView[];
};

/**
 * What `POST /v1/identities/{id}/offboard` reports. The schema types the grants' `state` as a string; the broker sends
 * a `GrantState` (types.test.ts checks the route's answer).
 */
export type OffboardResult = Omit<Wire<typeof OffboardResultSchema>, "identity" | "grants" | "inProgress"> & {
  readonly identity: IdentityView;
  readonly grants: readonly { readonly id: string; readonly target: string; readonly state: GrantState }[];
  readonly inProgress: readonly { readonly id: string; readonly state: GrantState }[];
};
