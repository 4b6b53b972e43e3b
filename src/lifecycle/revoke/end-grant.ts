// Ends a grant — expiry, completion, revocation, recovery — and starts its removal, in one audited step.

import type { Actor, EndReason, Grant, Identity } from "../../domain/index.js";
import { canTransitionGrant, grantEnded, grantRetry } from "../../domain/index.js";
import { ConflictError } from "../../storage/index.js";
import { actorOf, draft, systemActor } from "../shared/audit-draft.js";
import { commitGrant } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { loadOwnGrant } from "../shared/ownership.js";
import { refuse } from "../shared/refuse.js";
import { driveRemoval } from "./drive-removal.js";
import { type Opening, removeInStore } from "./remove-in-store.js";

/** The end of a grant (`active`/`issuing` → `revoking`) and the audit event that records it, not committed yet. */
function ending(deps: LifecycleDeps, grant: Grant, reason: EndReason, actor: Actor, note: string | null): Opening {
  const now = deps.clock.now();
  const ended = grantEnded(grant, "end", reason, actor.id, now, now + deps.settings.removalClaimMs);
  return {
    grant: ended,
    event: draft(
      "grant.revoking",
      now,
      actor,
      { grant: ended },
      { handle: grant.handle, reason, expiresAt: grant.expiresAt, ...(note === null ? {} : { note }) },
    ),
  };
}

/** Commits the end of a grant (`active`/`issuing` → `revoking`) with its audit event; returns the claimed grant. */
export async function markEnded(
  deps: LifecycleDeps,
  grant: Grant,
  reason: EndReason,
  actor: Actor,
  note: string | null = null,
): Promise<Grant> {
  const end = ending(deps, grant, reason, actor, note);
  await commitGrant(deps, grant, end.grant, end.event);
  return end.grant;
}

/**
 * Ends a grant and removes it. Access kept in the broker's store goes in one commit; a downstream target's grant is
 * committed `revoking` first, the durable intent a restart or another replica finishes, then removed (drive-removal.ts).
 * A conflict (another worker moved the grant first) is thrown, as from `markEnded`.
 */
export async function endAndRemove(
  deps: LifecycleDeps,
  grant: Grant,
  reason: EndReason,
  actor: Actor,
  note: string | null = null,
): Promise<Grant> {
  const connector = deps.catalog.connector(grant.targetId);
  if (connector?.revokeInStore) {
    return removeInStore(deps, connector, grant, ending(deps, grant, reason, actor, note));
  }
  return driveRemoval(deps, await markEnded(deps, grant, reason, actor, note));
}

/** Claims a grant whose removal failed or whose previous remover died, and starts the removal again. */
export async function retryRemoval(deps: LifecycleDeps, grant: Grant): Promise<Grant> {
  const now = deps.clock.now();
  const claimed = grantRetry(grant, now + deps.settings.removalClaimMs);
  const event = draft(
    "grant.revoking",
    now,
    systemActor("scheduler"),
    { grant: claimed },
    {
      handle: grant.handle,
      reason: grant.endReason,
      retry: true,
      attempts: grant.attempts,
      previousState: grant.state,
    },
  );
  const connector = deps.catalog.connector(grant.targetId);
  if (connector?.revokeInStore) {
    return removeInStore(deps, connector, grant, {
      grant: claimed,
      event,
    });
  }
  await commitGrant(deps, grant, claimed, event);
  return driveRemoval(deps, claimed);
}

/** A caller ends a grant: `completed` when its task is done, `revoked` by decision. Returns once removal is verified or has failed. */
export async function endGrantByCaller(
  deps: LifecycleDeps,
  caller: Identity,
  grantId: string,
  reason: "completed" | "revoked",
  note: string | null = null,
): Promise<Grant> {
  // A renewal may move the grant between our read and our write; then read it again and end what is there.
  for (let attempt = 1; ; attempt++) {
    const grant = await loadOwnGrant(deps, caller, grantId, "revoke");
    if (!canTransitionGrant(grant.state, "end") || grant.state === "issuing") {
      throw await refuse(deps, caller, {
        auditCode: "request.rejected",
        errorCode: "invalid_state",
        message: `grant '${grant.id}' is ${grant.state}, not active`,
        grantId: grant.id,
        extensions: { state: grant.state },
      });
    }
    try {
      return await endAndRemove(deps, grant, reason, actorOf(caller), note);
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= 3) throw error;
    }
  }
}
