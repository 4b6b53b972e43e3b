// Stage 6, revoke: drives a grant that is being removed through revoke and verification, recording every step.
import type { Connector, RevokeResponse } from "../../connectors/index.js";
import type { Grant } from "../../domain/index.js";
import { grantRemoved } from "../../domain/index.js";
import { ConflictError } from "../../storage/index.js";
import { describeError } from "../../support/index.js";
import { draft, systemActor } from "../shared/audit-draft.js";
import { commitGrant } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { revokedReceipt } from "../verify/receipt.js";
import { recordRemovalFailure } from "../verify/record-removal-failure.js";
import { verifyRemoval } from "../verify/verify-removal.js";
import { lastLook } from "./last-look.js";

const actor = systemActor("remover");

/** Takes a grant in `revoking` or `revoked` as far as it can go: `verified`, or `revoke_failed` with a retry scheduled. */
export async function driveRemoval(deps: LifecycleDeps, grant: Grant): Promise<Grant> {
  try {
    const connector = deps.catalog.connector(grant.targetId);
    if (!connector)
      return await recordRemovalFailure(deps, grant, `target '${grant.targetId}' is no longer configured`);
    let current = grant;
    if (current.state === "revoking") current = await revokeDownstream(deps, connector, current);
    if (current.state === "revoked") current = await verifyRemoval(deps, connector, current);
    return current;
  } catch (error) {
    // Another worker moved the grant first; it owns the rest of the removal.
    if (error instanceof ConflictError) return (await deps.store.getGrant(grant.id)) ?? grant;
    throw error;
  }
}

async function revokeDownstream(deps: LifecycleDeps, connector: Connector, grant: Grant): Promise<Grant> {
  const usage = await lastLook(deps, connector, grant);
  let removal: RevokeResponse;
  try {
    removal = await connector.revoke({ grant });
  } catch (error) {
    return recordRemovalFailure(deps, grant, `revoke failed: ${describeError(error)}`);
  }
  const now = deps.clock.now();
  const receipt = revokedReceipt(connector, grant, removal, now, usage);
  const revoked = { ...grantRemoved(grant, now, now + deps.settings.removalClaimMs, receipt), ...usage };
  await commitGrant(
    deps,
    grant,
    revoked,
    draft(
      "grant.revoked",
      now,
      actor,
      { grant: revoked },
      {
        handle: grant.handle,
        reason: grant.endReason,
        removed: receipt.removed,
        sessionsEnded: receipt.sessionsEnded,
      },
    ),
  );
  return revoked;
}
