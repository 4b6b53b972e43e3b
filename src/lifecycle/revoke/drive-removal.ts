// Stage 6, revoke: drives a grant that is being removed through revoke and verification, recording every step.
//
// Commits per removal: access kept in the broker's own store (a token's deny-list row) is removed, verified and
// recorded in one change set (remove-in-store.ts). A downstream target needs `revoking` committed before the call (the
// durable intent a restart or another replica finishes; end-grant.ts), then `revoked` and `verified` (or
// `revoke_failed`) commit together once the target has been changed and checked: a crash in between leaves the grant
// `revoking`, and revoke is idempotent, so the retry does it again and nothing is reported removed unverified.
import type { Connector } from "../../connectors/index.js";
import type { Grant } from "../../domain/index.js";
import { grantRemoved } from "../../domain/index.js";
import { ConflictError } from "../../storage/index.js";
import { describeError } from "../../support/index.js";
import type { PendingMoves } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { revokedReceipt } from "../verify/receipt.js";
import { recordRemovalFailure } from "../verify/record-removal-failure.js";
import { verifyRemoval } from "../verify/verify-removal.js";
import { lastLook } from "./last-look.js";
import { removeInStore } from "./remove-in-store.js";
import { revokedEvent } from "./revoked-event.js";

/** Takes a grant in `revoking` or `revoked` as far as it can go: `verified`, or `revoke_failed` with a retry scheduled. */
export async function driveRemoval(deps: LifecycleDeps, grant: Grant): Promise<Grant> {
  try {
    const connector = deps.catalog.connector(grant.targetId);
    if (!connector)
      return await recordRemovalFailure(deps, grant, `target '${grant.targetId}' is no longer configured`);
    if (grant.state === "revoking" && connector.revokeInStore) return await removeInStore(deps, connector, grant, null);
    if (grant.state === "revoking") {
      const revoked = await revokeDownstream(deps, connector, grant);
      return revoked.pending === null
        ? revoked.grant
        : await verifyRemoval(deps, connector, revoked.grant, revoked.pending);
    }
    if (grant.state === "revoked") return await verifyRemoval(deps, connector, grant, null);
    return grant;
  } catch (error) {
    // Another worker moved the grant first; it owns the rest of the removal.
    if (error instanceof ConflictError) return (await deps.store.getGrant(grant.id)) ?? grant;
    throw error;
  }
}

/**
 * The downstream revoke. Its outcome is not committed alone: `revoked` rides with the verification's commit. A failed
 * revoke is committed at once (`revoke_failed`, pending null).
 */
async function revokeDownstream(
  deps: LifecycleDeps,
  connector: Connector,
  grant: Grant,
): Promise<{ grant: Grant; pending: PendingMoves | null }> {
  const usage = await lastLook(deps, connector, grant);
  let removal: Awaited<ReturnType<Connector["revoke"]>>;
  try {
    removal = await connector.revoke({ grant });
  } catch (error) {
    return { grant: await recordRemovalFailure(deps, grant, `revoke failed: ${describeError(error)}`), pending: null };
  }
  const now = deps.clock.now();
  const receipt = revokedReceipt(connector, grant, removal, now, usage);
  const revoked = { ...grantRemoved(grant, now, now + deps.settings.removalClaimMs, receipt), ...usage };
  return { grant: revoked, pending: { stored: grant, events: [revokedEvent(grant, revoked, now)] } };
}
