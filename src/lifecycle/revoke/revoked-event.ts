// The audit event of a grant's access removed (`revoked`), whichever commit carries it.
import type { AuditDraft, Grant, Millis } from "../../domain/index.js";
import { draft, systemActor } from "../shared/audit-draft.js";

export function revokedEvent(before: Grant, revoked: Grant, now: Millis): AuditDraft {
  return draft(
    "grant.revoked",
    now,
    systemActor("remover"),
    { grant: revoked },
    {
      handle: before.handle,
      reason: before.endReason,
      removed: revoked.receipt?.removed ?? [],
      sessionsEnded: revoked.receipt?.sessionsEnded ?? null,
    },
  );
}
