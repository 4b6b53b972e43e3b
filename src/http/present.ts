// Domain objects as the API shows them: ISO times, no internal fields, never a secret.

import type { AccessRequest, AuditEvent, Grant, Millis, RemovalReceipt } from "../domain/index.js";
import { requestHash } from "../domain/index.js";

/** A time as the API writes it (ISO 8601, UTC), or null. */
export const iso = (ms: Millis | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function presentGrant(grant: Grant) {
  return {
    id: grant.id,
    requestId: grant.requestId,
    identity: grant.identityId,
    target: grant.targetId,
    entitlement: grant.entitlement,
    connectorType: grant.connectorType,
    handle: grant.handle,
    state: grant.state,
    removed: grant.state === "verified",
    createdAt: iso(grant.createdAt),
    issuedAt: iso(grant.issuedAt),
    expiresAt: iso(grant.expiresAt),
    maxExpiresAt: iso(grant.maxExpiresAt),
    renewals: grant.renewals,
    endReason: grant.endReason,
    endedAt: iso(grant.endedAt),
    endedBy: grant.endedBy,
    removalAttempts: grant.attempts,
    lastError: grant.lastError,
    revokedAt: iso(grant.revokedAt),
    verifiedAt: iso(grant.verifiedAt),
    evidence: grant.evidence
      ? { checkedAt: iso(grant.evidence.checkedAt), checks: grant.evidence.checks.map((c) => ({ ...c })) }
      : null,
    firstUsedAt: iso(grant.firstUsedAt),
    lastUsedAt: iso(grant.lastUsedAt),
    receipt: grant.receipt ? presentReceipt(grant.receipt) : null,
  };
}

export function presentReceipt(r: RemovalReceipt) {
  return {
    removed: [...r.removed],
    sessionsEnded: r.sessionsEnded ? { count: r.sessionsEnded.count, ids: [...r.sessionsEnded.ids] } : null,
    revokedAt: iso(r.revokedAt),
    verification: r.verification
      ? { checkedAt: iso(r.verification.checkedAt), checks: r.verification.checks.map((c) => ({ ...c })) }
      : null,
    verifiedAt: iso(r.verifiedAt),
    firstUsedAt: iso(r.firstUsedAt),
    lastUsedAt: iso(r.lastUsedAt),
    unused: r.unused,
    usageObservation: { method: r.usageObservation.method, detail: r.usageObservation.detail },
  };
}

export function presentRequest(request: AccessRequest) {
  const d = request.decision;
  const hash = requestHash(request);
  return {
    id: request.id,
    identity: request.identityId,
    entitlement: request.entitlement,
    durationSeconds: request.durationSeconds,
    justification: request.justification,
    ticket: request.ticket,
    intent: request.intent
      ? { task: request.intent.task, actions: [...request.intent.actions], description: request.intent.description }
      : null,
    breakGlass: request.breakGlass,
    state: request.state,
    stateReason: request.stateReason,
    decision: d
      ? {
          outcome: d.outcome,
          approval: d.approval,
          reason: d.reason,
          policies: [...d.determiningPolicies],
          maxDurationSeconds: d.maxDurationSeconds,
          approvers: (d.approvers ?? []).map((r) => ({ group: r.group, count: r.count })),
          flags: [...(d.flags ?? [])],
          policyVersion: d.policyVersion ?? null,
        }
      : null,
    requestHash: hash,
    approvals: request.approvals.map((a) => ({
      approver: a.approver,
      at: iso(a.at),
      groups: [...a.groups],
      note: a.note,
      current: a.requestHash === hash,
    })),
    dueAt: iso(request.dueAt),
    review: request.review
      ? {
          dueAt: iso(request.review.dueAt),
          reviewedBy: request.review.reviewedBy,
          reviewedAt: iso(request.review.reviewedAt),
          outcome: request.review.outcome,
          note: request.review.note,
          overdue: request.review.overdueAt !== null,
        }
      : null,
    grantId: request.grantId,
    createdAt: iso(request.createdAt),
    updatedAt: iso(request.updatedAt),
  };
}

export function presentAuditEvent(event: AuditEvent) {
  return { ...event, time: iso(event.time) };
}
