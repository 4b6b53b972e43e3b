// The issued credential's probe secret: sealed in the store with the grant's activation, opened only for the login
// probe that proves removal, and destroyed in the same commit that records the removal as verified.

import type { Grant } from "../../domain/index.js";
import { StateNamespace, type Write } from "../../storage/index.js";
import { describeError, Secret } from "../../support/index.js";
import type { LifecycleDeps } from "../shared/deps.js";

/** Sealed probe secrets, by grant id. */
const secrets = new StateNamespace<string>("probe-secret");

/** Sealing context: a sealed probe secret copied to another grant's row does not open. */
const context = (grantId: string) => `${secrets.namespace}:${grantId}`;

export function keepProbeSecret(deps: LifecycleDeps, grant: Grant, probe: Secret<string>): Write {
  return secrets.put(grant.id, deps.sealer.seal(probe.reveal(), context(grant.id)));
}

/** The probe secret, or null when the connector gave none or it cannot be opened (then the login check fails closed). */
export async function openProbeSecret(deps: LifecycleDeps, grant: Grant): Promise<Secret<string> | null> {
  const row = await secrets.in(deps.store).get(grant.id);
  if (!row || typeof row.value !== "string") return null;
  try {
    return new Secret(deps.sealer.open(row.value, context(grant.id)));
  } catch (error) {
    deps.logger.error({ grantId: grant.id, err: describeError(error) }, "the probe secret of a grant did not open");
    return null;
  }
}

export function destroyProbeSecret(grant: Grant): Write {
  return secrets.delete(grant.id);
}
