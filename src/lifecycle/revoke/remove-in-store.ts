// Removal of access kept in the broker's own store (a signed token's deny-list row): the end of the grant when it is
// ended here, the removal, its proof and their audit events commit in one change set.
//
// The proof needs no look after the commit: the grant cannot be recorded `verified` unless the row that refuses the
// credential commits with it, in the same transaction. A crash before the commit leaves nothing changed; the grant is
// due again when its claim lapses.
import type { Connector } from "../../connectors/index.js";
import type { AuditDraft, Grant } from "../../domain/index.js";
import { grantRemoved, grantVerified } from "../../domain/index.js";
import { commitGrantSteps } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { revokedReceipt, verifiedReceipt } from "../verify/receipt.js";
import { verifiedEvent } from "../verify/verify-removal.js";
import { lastLook } from "./last-look.js";
import { revokedEvent } from "./revoked-event.js";

/** How the grant came to be `revoking` in this same commit (ended, or a removal retried), when it did. */
export interface Opening {
  readonly grant: Grant;
  readonly event: AuditDraft;
}

/** `stored` is the grant as the store holds it: `revoking`, or the state `opening` moves it from. */
export async function removeInStore(
  deps: LifecycleDeps,
  connector: Connector,
  stored: Grant,
  opening: Opening | null,
): Promise<Grant> {
  const revokeInStore = connector.revokeInStore;
  if (!revokeInStore) throw new TypeError(`target '${connector.targetId}' keeps no access in the broker's store`);
  const revoking = opening?.grant ?? stored;
  const usage = await lastLook(deps, connector, revoking);
  const removal = revokeInStore({ grant: revoking });
  const now = deps.clock.now();
  const receipt = revokedReceipt(connector, revoking, { removed: removal.removed, sessionsEnded: null }, now, usage);
  const revoked = { ...grantRemoved(revoking, now, now + deps.settings.removalClaimMs, receipt), ...usage };
  const proof = verifiedReceipt(connector, revoked, removal.evidence, now);
  const verified = grantVerified(revoked, now, removal.evidence, proof);
  const result = await commitGrantSteps(
    deps,
    stored,
    verified,
    [
      ...(opening ? [opening.event] : []),
      ...removal.changes.audit,
      revokedEvent(revoking, revoked, now),
      verifiedEvent(revoking, verified, now, removal.evidence, proof, "none"),
    ],
    removal.changes.writes,
  );
  deps.observer.verified(result, now - stored.expiresAt);
  return result;
}
