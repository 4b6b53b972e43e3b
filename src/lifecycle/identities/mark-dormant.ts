// Dormancy: an identity neither seen nor changed for `dormantAfter` is marked dormant, audited, and can no longer
// authenticate until an admin reactivates it (OWASP NHI: stale identities are standing risk).

import type { IdentityRecord, Millis } from "../../domain/index.js";
import { formatDuration, identityWithStatus } from "../../domain/index.js";
import { ConflictError } from "../../storage/index.js";
import { describeError } from "../../support/index.js";
import { draft, systemActor } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";

const actor = systemActor("dormancy");
const PAGE = 500;

/** When the identity last showed a sign of life: its last sighting, or the last change of its record (reactivation). */
export function lastActivity(identity: IdentityRecord): Millis {
  return Math.max(identity.lastSeenAt ?? 0, identity.createdAt, identity.updatedAt);
}

export interface DormancyResult {
  readonly checked: number;
  readonly markedDormant: number;
}

/** One pass over the active identities; each one idle for `dormantAfterMs` is marked dormant with its audit event. */
export async function markDormantIdentities(deps: LifecycleDeps, dormantAfterMs: number): Promise<DormancyResult> {
  let checked = 0;
  let markedDormant = 0;
  let after: string | undefined;
  // Only an admin can reactivate: the last active admin is never made dormant, or nobody could undo it.
  let activeAdmins = await countActiveAdmins(deps);
  for (;;) {
    const page = await deps.store.listIdentities({ statuses: ["active"], limit: PAGE, ...(after ? { after } : {}) });
    for (const identity of page) {
      checked++;
      const now = deps.clock.now();
      const idleSince = lastActivity(identity);
      if (now - idleSince < dormantAfterMs) continue;
      if (identity.admin && activeAdmins <= 1) {
        deps.logger.warn({ identityId: identity.id }, "the last active admin is unseen but is not made dormant");
        continue;
      }
      const reason = `unseen since ${new Date(idleSince).toISOString()} (identityLifecycle.dormantAfter ${formatDuration(Math.round(dormantAfterMs / 1000))})`;
      const dormant = identityWithStatus(identity, "dormant", reason, now);
      try {
        await commit(deps, {
          writes: [{ kind: "updateIdentity", identity: dormant, expectedVersion: identity.version }],
          audit: [
            draft(
              "identity.dormant",
              now,
              actor,
              { identityId: identity.id },
              {
                reason,
                lastSeenAt: identity.lastSeenAt === null ? null : new Date(identity.lastSeenAt).toISOString(),
                dormantAfterSeconds: Math.round(dormantAfterMs / 1000),
              },
            ),
          ],
        });
        markedDormant++;
        if (identity.admin) activeAdmins--;
      } catch (error) {
        // Changed meanwhile (offboarded, redefined): the next pass looks at it again.
        if (error instanceof ConflictError) continue;
        deps.logger.error({ identityId: identity.id, err: describeError(error) }, "could not mark an identity dormant");
      }
    }
    if (page.length < PAGE) break;
    after = page.at(-1)?.id;
  }
  return { checked, markedDormant };
}

/** Active identities with the admin flag: only they can reactivate, so the last one is never disabled. */
export async function countActiveAdmins(deps: LifecycleDeps): Promise<number> {
  let count = 0;
  for (let after: string | undefined; ; ) {
    const page = await deps.store.listIdentities({ statuses: ["active"], limit: PAGE, ...(after ? { after } : {}) });
    count += page.filter((i) => i.admin).length;
    if (page.length < PAGE) return count;
    after = page.at(-1)?.id;
  }
}
