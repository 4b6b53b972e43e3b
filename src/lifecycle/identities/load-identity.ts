// Reads an identity for an admin action; an unknown id is a 404, audited like every refusal.
import type { Identity, IdentityRecord } from "../../domain/index.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { refuse } from "../shared/refuse.js";

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
