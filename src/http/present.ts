// Domain objects as the API shows them: ISO times, no internal fields, never a secret.
import type { AccessRequest, AuditEvent, Grant, Millis } from "../domain/types.js";

const iso = (ms: Millis | null): string | null => (ms === null ? null : new Date(ms).toISOString());

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
  };
}

export function presentRequest(request: AccessRequest) {
  const d = request.decision;
  return {
    id: request.id,
    identity: request.identityId,
    entitlement: request.entitlement,
    durationSeconds: request.durationSeconds,
    justification: request.justification,
    ticket: request.ticket,
    intent: request.intent,
    state: request.state,
    stateReason: request.stateReason,
    decision: d
      ? {
          outcome: d.outcome,
          approval: d.approval,
          reason: d.reason,
          policies: [...d.determiningPolicies],
          maxDurationSeconds: d.maxDurationSeconds,
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
