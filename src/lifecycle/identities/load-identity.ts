// Reads an identity for an admin action; an unknown id is a 404, audited like every refusal.
import type { Identity, IdentityRecord, RequestFacts } from "../../domain/index.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { refuse } from "../shared/refuse.js";
import { BROKER, requirePermission } from "../shared/require-permission.js";

export async function loadIdentity(deps: LifecycleDeps, caller: Identity, identityId: string): Promise<IdentityRecord> {
  const identity = await deps.store.getIdentity(identityId);
  if (identity) return identity;
  throw await refuse(deps, caller, {
    auditCode: "request.rejected",
    errorCode: "not_found",
    message: `no identity '${identityId}'`,
    data: { identity: identityId },
  });
}

/**
 * The identity `caller` may `action` (offboard, reactivate), refused (403, audited) when policy says no. For an unknown
 * id the caller must be allowed `admin` on the broker (to read the inventory) before hearing it is unknown, so the
 * answer tells nobody else which identities exist.
 */
export async function identityToActOn(
  deps: LifecycleDeps,
  caller: Identity,
  identityId: string,
  action: "offboard" | "reactivate",
  what: string,
  facts: RequestFacts | null,
): Promise<IdentityRecord> {
  const identity = await deps.store.getIdentity(identityId);
  if (identity === null) await requirePermission(deps, caller, { action: "admin", resource: BROKER, facts }, what);
  else await requirePermission(deps, caller, { action, resource: { type: "Identity", identity }, facts }, what);
  return identity ?? loadIdentity(deps, caller, identityId);
}
