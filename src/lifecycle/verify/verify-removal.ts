// Stage 7, verify: asks the target whether the access is really gone; only then is the grant reported removed.
import type { Connector } from "../../connectors/index.js";
import type { Grant } from "../../domain/index.js";
import { grantVerified } from "../../domain/index.js";
import { describeError } from "../../support/index.js";
import { draft, systemActor } from "../shared/audit-draft.js";
import { commitGrant } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { destroyProbeSecret, openProbeSecret } from "./probe-secret.js";
import { verifiedReceipt } from "./receipt.js";
import { recordRemovalFailure } from "./record-removal-failure.js";

export async function verifyRemoval(deps: LifecycleDeps, connector: Connector, grant: Grant): Promise<Grant> {
  let outcome: Awaited<ReturnType<Connector["verifyRemoved"]>>;
  try {
    outcome = await connector.verifyRemoved({ grant, probe: await openProbeSecret(deps, grant) });
  } catch (error) {
    return recordRemovalFailure(deps, grant, `verification failed: ${describeError(error)}`);
  }
  if (!outcome.removed) {
    const failing = outcome.evidence.checks.filter((c) => !c.passed).map((c) => `${c.check}: ${c.observed}`);
    return recordRemovalFailure(deps, grant, `verification saw the access still present (${failing.join("; ")})`);
  }
  const now = deps.clock.now();
  const receipt = verifiedReceipt(connector, grant, outcome.evidence, now);
  const verified = grantVerified(grant, now, outcome.evidence, receipt);
  // The probe secret has done its job: it is destroyed in the commit that records the proof.
  await commitGrant(
    deps,
    grant,
    verified,
    draft(
      "grant.verified",
      now,
      systemActor("verifier"),
      { grant: verified },
      {
        handle: grant.handle,
        reason: grant.endReason,
        evidence: outcome.evidence,
        receipt,
        overrunMs: now - grant.expiresAt,
        probeSecret: "destroyed",
      },
    ),
    [destroyProbeSecret(grant)],
  );
  deps.observer.verified(verified, now - grant.expiresAt);
  return verified;
}
