// The requester's identity held active through the commit that hands out a credential. Authentication read the
// identity's status; the commit asserts the version it read, so an offboarding (or dormancy) committed in between fails
// the commit and the request is refused: one status read per request, and no credential for an identity no longer active.
import type { Identity, IdentityStatus } from "../../domain/index.js";
import { ConflictError, type Write } from "../../storage/index.js";
import { EphemeraError } from "../../support/index.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { refuse } from "../shared/refuse.js";

/**
 * The write that holds the identity at `readVersion` (as authentication read it). Without one (a console session, a
 * library caller) the identity is read now, once; an identity the registry does not hold (a library caller's own) has
 * no status to lose and is not held. Refuses (identity_inactive, audited) when the identity read now is not active.
 */
export async function holdIdentity(
  deps: LifecycleDeps,
  requester: Identity,
  readVersion: number | null | undefined,
): Promise<Write | null> {
  if (typeof readVersion === "number") {
    return { kind: "assertIdentityActive", identityId: requester.id, version: readVersion };
  }
  const record = await deps.store.getIdentity(requester.id);
  if (record === null) return null;
  if (record.status !== "active") {
    const error = identityInactive(requester.id, record.status);
    throw await refuse(deps, requester, {
      auditCode: "auth.forbidden",
      errorCode: "identity_inactive",
      message: error.message,
      data: { identity: requester.id, status: record.status },
      extensions: { identity: requester.id, identityStatus: record.status },
    });
  }
  return { kind: "assertIdentityActive", identityId: requester.id, version: record.version };
}

/**
 * After a commit holding the identity failed with a conflict: the identity's status when it is why (no longer active),
 * else null (another row conflicted, or the identity changed and is still active: the caller's conflict stands).
 */
export async function identityLost(
  deps: LifecycleDeps,
  requester: Identity,
  hold: Write | null,
  error: unknown,
): Promise<Exclude<IdentityStatus, "active"> | null> {
  if (hold === null || !(error instanceof ConflictError)) return null;
  const record = await deps.store.getIdentity(requester.id);
  if (record === null) return "offboarded";
  return record.status === "active" ? null : record.status;
}

export function identityInactive(identityId: string, status: IdentityStatus): EphemeraError {
  return new EphemeraError("identity_inactive", `identity '${identityId}' is ${status}; no credential was issued`, {
    extensions: { identity: identityId, identityStatus: status },
  });
}
