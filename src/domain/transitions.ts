// The one table of every state change a request or a grant may make, and the pure functions that apply it.
import type {
  AccessRequest,
  Decision,
  EndReason,
  Grant,
  GrantState,
  IdentityRecord,
  IdentityStatus,
  Millis,
  RemovalEvidence,
  RemovalReceipt,
  RequestState,
} from "./types.js";

export const REQUEST_TRANSITIONS = {
  approve: { from: ["pending"], to: "approved" },
  /** The requester changes a pending ask (duration, justification, ticket, intent); approvals given so far lapse. */
  modify: { from: ["pending"], to: "pending" },
  /** By an approver while pending, or by policy when an approved request is collected after a policy change. */
  deny: { from: ["pending", "approved"], to: "denied" },
  /** An approval no longer holds at collection (the approver lost the right): back to waiting for approvers. */
  reopen: { from: ["approved"], to: "pending" },
  cancel: { from: ["pending", "approved"], to: "cancelled" },
  /** Pending without quorum, or approved but never collected, within the configured time. */
  time_out: { from: ["pending", "approved"], to: "timed_out" },
  issue: { from: ["approved"], to: "issued" },
  fail: { from: ["approved"], to: "failed" },
} as const satisfies Record<string, { from: readonly RequestState[]; to: RequestState }>;

export type RequestEvent = keyof typeof REQUEST_TRANSITIONS;

export const GRANT_TRANSITIONS = {
  /** The downstream call succeeded: the credential exists and is handed out. */
  issued: { from: ["issuing"], to: "active" },
  /** The downstream call failed: whatever it may have left behind is removed. */
  issue_failed: { from: ["issuing"], to: "revoking" },
  renewed: { from: ["active"], to: "active" },
  /** Expiry, completion, revocation, offboarding, policy change; `issuing` after a crash is ended too. */
  end: { from: ["active", "issuing"], to: "revoking" },
  /** A removal attempt starts again after a failure or after a lapsed claim. */
  retry: { from: ["revoking", "revoke_failed", "revoked"], to: "revoking" },
  removed: { from: ["revoking"], to: "revoked" },
  removal_failed: { from: ["revoking", "revoked"], to: "revoke_failed" },
  verified: { from: ["revoked"], to: "verified" },
} as const satisfies Record<string, { from: readonly GrantState[]; to: GrantState }>;

export type GrantEvent = keyof typeof GRANT_TRANSITIONS;

/** Thrown when a change is attempted from a state the table does not allow. */
export class IllegalTransitionError extends Error {
  constructor(
    readonly entity: "request" | "grant",
    readonly event: string,
    readonly from: string,
  ) {
    super(`${entity} cannot '${event}' from state '${from}'`);
    this.name = "IllegalTransitionError";
  }
}

export function canTransitionGrant(state: GrantState, event: GrantEvent): boolean {
  return (GRANT_TRANSITIONS[event].from as readonly GrantState[]).includes(state);
}

export function canTransitionRequest(state: RequestState, event: RequestEvent): boolean {
  return (REQUEST_TRANSITIONS[event].from as readonly RequestState[]).includes(state);
}

/** What a new request is made of: who asks for what, for how long and why, what policy decided, and when. */
export type RequestOpening = Pick<
  AccessRequest,
  | "id"
  | "identityId"
  | "entitlement"
  | "targetId"
  | "durationSeconds"
  | "justification"
  | "ticket"
  | "intent"
  | "breakGlass"
  | "createdAt"
  | "facts"
> & { readonly decision: Decision };

/** How long a new request may wait for its approvers, and how soon a break-glass request must be reviewed. */
export interface RequestDeadlines {
  readonly pendingTimeoutMs: number;
  readonly reviewWithinMs: number;
}

/**
 * The state a request opens in, from its decision: denied by policy; approved at once with a review due after the fact
 * (break-glass never waits); pending until its approvers' quorum; otherwise approved at once.
 */
function openingState(decision: Decision, breakGlass: boolean): "denied" | "pending" | "approved" {
  if (decision.outcome === "deny") return "denied";
  if (breakGlass) return "approved";
  return decision.approval === "required" ? "pending" : "approved";
}

/** A request as it is first committed, in the state its decision opens it in, with what falls due for it. */
export function openRequest(opening: RequestOpening, deadlines: RequestDeadlines): AccessRequest {
  const state = openingState(opening.decision, opening.breakGlass);
  const review =
    state === "approved" && opening.breakGlass
      ? {
          dueAt: opening.createdAt + deadlines.reviewWithinMs,
          reviewedBy: null,
          reviewedAt: null,
          outcome: null,
          note: null,
          overdueAt: null,
        }
      : null;
  return {
    id: opening.id,
    identityId: opening.identityId,
    entitlement: opening.entitlement,
    targetId: opening.targetId,
    durationSeconds: opening.durationSeconds,
    justification: opening.justification,
    ticket: opening.ticket,
    intent: opening.intent,
    breakGlass: opening.breakGlass,
    state,
    decision: opening.decision,
    grantId: null,
    stateReason: state === "denied" ? opening.decision.reason : null,
    createdAt: opening.createdAt,
    updatedAt: opening.createdAt,
    version: 1,
    revision: 0,
    approvals: [],
    dueAt: state === "pending" ? opening.createdAt + deadlines.pendingTimeoutMs : (review?.dueAt ?? null),
    review,
    facts: opening.facts,
  };
}

/** What a new grant is made of: who, what, the downstream handle chosen before the downstream call, and its times. */
export type GrantOpening = Pick<
  Grant,
  | "id"
  | "requestId"
  | "identityId"
  | "targetId"
  | "entitlement"
  | "connectorType"
  | "handle"
  | "handleData"
  | "createdAt"
  | "expiresAt"
  | "maxExpiresAt"
  | "dueAt"
> & {
  /** When the scheduler takes the grant over if its issuer never finishes. */
  readonly dueAt: Millis;
};

/** A grant as it is first committed: `issuing`, nothing ended, nothing removed. */
export function openGrant(opening: GrantOpening): Grant {
  return {
    ...opening,
    state: "issuing",
    issuedAt: null,
    renewals: 0,
    endReason: null,
    endedAt: null,
    endedBy: null,
    attempts: 0,
    lastError: null,
    revokedAt: null,
    verifiedAt: null,
    evidence: null,
    firstUsedAt: null,
    lastUsedAt: null,
    receipt: null,
    version: 1,
  };
}

function nextGrant(grant: Grant, event: GrantEvent, patch: Partial<Grant>): Grant {
  if (!canTransitionGrant(grant.state, event)) throw new IllegalTransitionError("grant", event, grant.state);
  return { ...grant, ...patch, state: GRANT_TRANSITIONS[event].to, version: grant.version + 1 };
}

export function transitionRequest(
  request: AccessRequest,
  event: RequestEvent,
  now: Millis,
  patch: Pick<Partial<AccessRequest>, "grantId" | "stateReason" | "decision" | "dueAt" | "review" | "approvals"> = {},
): AccessRequest {
  if (!canTransitionRequest(request.state, event)) {
    throw new IllegalTransitionError("request", event, request.state);
  }
  return { ...request, ...patch, state: REQUEST_TRANSITIONS[event].to, updatedAt: now, version: request.version + 1 };
}

/** Marks the credential as handed out; the expiry clock starts at issue. */
export function grantIssued(grant: Grant, now: Millis, expiresAt: Millis, handleData: Grant["handleData"]): Grant {
  return nextGrant(grant, "issued", { issuedAt: now, expiresAt, handleData, dueAt: expiresAt });
}

export function grantRenewed(grant: Grant, expiresAt: Millis, handleData: Grant["handleData"]): Grant {
  if (expiresAt > grant.maxExpiresAt) {
    throw new IllegalTransitionError("grant", "renewed past its maximum", grant.state);
  }
  return nextGrant(grant, "renewed", { expiresAt, handleData, dueAt: expiresAt, renewals: grant.renewals + 1 });
}

/** Starts removal. `claimUntil` is when another worker may take the removal over if this one dies. */
export function grantEnded(
  grant: Grant,
  event: "end" | "issue_failed",
  reason: EndReason,
  by: string,
  now: Millis,
  claimUntil: Millis,
): Grant {
  return nextGrant(grant, event, { endReason: reason, endedAt: now, endedBy: by, dueAt: claimUntil });
}

export function grantRetry(grant: Grant, claimUntil: Millis): Grant {
  return nextGrant(grant, "retry", { dueAt: claimUntil });
}

/** Revoke succeeded; `receipt` records what it removed (completed when removal is verified). */
export function grantRemoved(
  grant: Grant,
  now: Millis,
  claimUntil: Millis,
  receipt: RemovalReceipt | null = null,
): Grant {
  return nextGrant(grant, "removed", { revokedAt: now, dueAt: claimUntil, lastError: null, receipt });
}

export function grantRemovalFailed(grant: Grant, error: string, nextAttemptAt: Millis): Grant {
  return nextGrant(grant, "removal_failed", { lastError: error, attempts: grant.attempts + 1, dueAt: nextAttemptAt });
}

export function grantVerified(
  grant: Grant,
  now: Millis,
  evidence: RemovalEvidence,
  receipt: RemovalReceipt | null = grant.receipt,
): Grant {
  return nextGrant(grant, "verified", { verifiedAt: now, evidence, dueAt: null, lastError: null, receipt });
}

/**
 * An identity's status change (dormancy, reactivation, offboarding): the reason is recorded and `updatedAt` moves, so
 * dormancy counts afresh from a reactivation; the version moves for the compare-and-set write.
 */
export function identityWithStatus(
  identity: IdentityRecord,
  status: IdentityStatus,
  reason: string | null,
  now: Millis,
): IdentityRecord {
  return { ...identity, status, statusReason: reason, updatedAt: now, version: identity.version + 1 };
}
