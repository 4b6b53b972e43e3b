// The last step before a credential is handed out: the identity may have been offboarded (or made dormant) after its
// caller authenticated and before the grant became active. Offboarding ends the grants it can see; this catches the one
// committed after it looked, so an offboarded identity never walks away with a credential.
import type { Grant, Identity } from "../../domain/index.js";
import { describeError, EphemeraError } from "../../support/index.js";
import { driveRemoval } from "../revoke/drive-removal.js";
import { markEnded } from "../revoke/end-grant.js";
import { systemActor } from "../shared/audit-draft.js";
import type { LifecycleDeps } from "../shared/deps.js";

/** Resolves when the caller's registered identity is still active; otherwise ends the grant and throws 403. */
export async function confirmIdentityActive(deps: LifecycleDeps, caller: Identity, grant: Grant): Promise<void> {
  const record = await deps.store.getIdentity(caller.id);
  // An identity the registry does not hold (a library caller's own) has no status to lose.
  if (record === null || record.status === "active") return;
  const note = `identity ${record.status} while the credential was being issued`;
  const ended = await markEnded(
    deps,
    grant,
    record.status === "offboarded" ? "offboarded" : "revoked",
    systemActor("issuer"),
    note,
  );
  await driveRemoval(deps, ended).catch((error: unknown) => {
    // The grant is `revoking` under a claim: the scheduler finishes the removal.
    deps.logger.error({ grantId: grant.id, err: describeError(error) }, "removal after a late status change failed");
  });
  throw new EphemeraError(
    "identity_inactive",
    `identity '${caller.id}' is ${record.status}; no credential was issued`,
    {
      extensions: { identity: caller.id, identityStatus: record.status },
    },
  );
}
