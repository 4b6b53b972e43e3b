// Builds audit drafts with the severity their code declares, so no stage picks severities by hand.
import { AUDIT_CODES, type AuditCode } from "../../audit/index.js";
import type { AccessRequest, Actor, AuditDraft, Grant, Identity, Millis } from "../../domain/index.js";

export function actorOf(identity: Identity | null): Actor {
  return identity ? { type: "identity", id: identity.id } : { type: "anonymous", id: "-" };
}

export const systemActor = (component: string): Actor => ({ type: "system", id: component });

export function draft(
  code: AuditCode,
  time: Millis,
  actor: Actor,
  subject: { request?: AccessRequest | null; grant?: Grant | null; identityId?: string | null },
  data: Record<string, unknown> = {},
  outcome: AuditDraft["outcome"] = "success",
): AuditDraft {
  return {
    time,
    code,
    severity: AUDIT_CODES[code].severity,
    outcome,
    actor,
    requestId: subject.request?.id ?? subject.grant?.requestId ?? null,
    grantId: subject.grant?.id ?? subject.request?.grantId ?? null,
    identityId: subject.identityId ?? subject.grant?.identityId ?? subject.request?.identityId ?? null,
    data,
  };
}
