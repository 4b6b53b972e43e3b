// An audit draft for something a broker component did on its own (key rotation, a deny-list entry): one shape for all.
import type { AuditDraft, Millis } from "../domain/index.js";
import { type AuditCode, severityOf } from "./codes.js";

export function systemEvent(
  code: AuditCode,
  time: Millis,
  component: string,
  data: Record<string, unknown>,
  refs: { readonly grantId?: string | null; readonly identityId?: string | null } = {},
): AuditDraft {
  return {
    time,
    code,
    severity: severityOf(code),
    outcome: "success",
    actor: { type: "system", id: component },
    requestId: null,
    grantId: refs.grantId ?? null,
    identityId: refs.identityId ?? null,
    data,
  };
}
