// A failed removal step, whether revoking or verifying failed: recorded and audited, retried later with backoff, and
// never reported as removed. The one place revoke and verify both use for it.

import type { Grant } from "../../domain/index.js";
import { grantRemovalFailed } from "../../domain/index.js";
import { backoffDelay } from "../../support/index.js";
import { draft, systemActor } from "../shared/audit-draft.js";
import { commitGrantSteps, type PendingMoves } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";

const actor = systemActor("remover");

/**
 * Never marks the grant removed: schedules another attempt with backoff and raises the alarm. `pending` holds moves
 * made and not committed yet (a `revoked` whose verification failed), committed with the failure.
 */
export async function recordRemovalFailure(
  deps: LifecycleDeps,
  grant: Grant,
  error: string,
  pending: PendingMoves | null = null,
): Promise<Grant> {
  const now = deps.clock.now();
  const delay = backoffDelay(grant.attempts, deps.settings.retryInitialMs, deps.settings.retryMaxMs, deps.random());
  const failed = grantRemovalFailed(grant, error, now + delay);
  // People hear of the first failure and of every tenth after it, not of every retry.
  const notify = failed.attempts === 1 || failed.attempts % 10 === 0;
  const stored = await commitGrantSteps(
    deps,
    pending?.stored ?? grant,
    failed,
    [
      ...(pending?.events ?? []),
      draft(
        "grant.revoke_failed",
        now,
        actor,
        { grant: failed },
        { handle: grant.handle, error, attempts: failed.attempts, nextAttemptAt: failed.dueAt },
        "failure",
      ),
    ],
    notify
      ? (deps.notifier?.writes(
          "removal_failed",
          {
            grantId: grant.id,
            identity: grant.identityId,
            target: grant.targetId,
            entitlement: grant.entitlement,
            handle: grant.handle,
            attempts: failed.attempts,
            error,
            nextAttemptAt: new Date(failed.dueAt ?? now).toISOString(),
          },
          now,
        ) ?? [])
      : [],
  );
  deps.observer.removalFailed(stored);
  deps.logger.warn(
    { grantId: grant.id, target: grant.targetId, attempts: failed.attempts, error },
    "grant removal failed; will retry",
  );
  return stored;
}
