// Someone policy lets `reactivate` brings a dormant identity back. Offboarding is for good: an offboarded identity is
// never reactivated.

import type { Identity, IdentityRecord, RequestFacts } from "../../domain/index.js";
import { identityWithStatus } from "../../domain/index.js";
import { ConflictError } from "../../storage/index.js";
import { actorOf, draft } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { refuse } from "../shared/refuse.js";
import { identityToActOn, loadIdentity } from "./load-identity.js";

/**
 * Policy decides `reactivate` on the identity (others are refused, audited); asking for an active identity changes
 * nothing.
 */
export async function reactivateIdentity(
  deps: LifecycleDeps,
  admin: Identity,
  identityId: string,
  reason: string,
  facts: RequestFacts | null = null,
): Promise<IdentityRecord> {
  await identityToActOn(deps, admin, identityId, "reactivate", "reactivating an identity", facts);
  for (let attempt = 1; ; attempt++) {
    const identity = await loadIdentity(deps, admin, identityId);
    if (identity.status === "active") return identity; // nothing to do: asking twice is not an error
    if (identity.status === "offboarded") {
      throw await refuse(deps, admin, {
        auditCode: "request.rejected",
        errorCode: "invalid_state",
        message: `identity '${identity.id}' is offboarded, which is for good; register the workload under a new identity id`,
        data: { identity: identity.id },
        extensions: { identityStatus: identity.status },
      });
    }
    const now = deps.clock.now();
    // Dormancy counts from the later of the last sighting and the last change, so this one starts the count afresh.
    const active = identityWithStatus(identity, "active", null, now);
    try {
      await commit(deps, {
        writes: [{ kind: "updateIdentity", identity: active, expectedVersion: identity.version }],
        audit: [
          draft(
            "identity.reactivated",
            now,
            actorOf(admin),
            { identityId: identity.id },
            { reason, previousStatus: identity.status, previousReason: identity.statusReason },
          ),
        ],
      });
      return active;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= 3) throw error;
    }
  }
}
