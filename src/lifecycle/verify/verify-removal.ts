// Stage 7, verify: asks the target whether the access is really gone; only then is the grant reported removed.
import type { Connector } from "../../connectors/index.js";
import type { AuditDraft, Grant, Millis, RemovalEvidence, RemovalReceipt } from "../../domain/index.js";
import { grantVerified } from "../../domain/index.js";
import { describeError } from "../../support/index.js";
import { draft, systemActor } from "../shared/audit-draft.js";
import { commitGrantSteps, type PendingMoves } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { destroyProbeSecret, openProbeSecret } from "./probe-secret.js";
import { verifiedReceipt } from "./receipt.js";
import { recordRemovalFailure } from "./record-removal-failure.js";

/**
 * Verifies the removal of a grant in `revoked`. `pending` holds the moves not committed yet (the `revoked` the revoke
 * just made): they commit with the outcome, verified or failed, in one change set.
 */
export async function verifyRemoval(
  deps: LifecycleDeps,
  connector: Connector,
  grant: Grant,
  pending: PendingMoves | null,
): Promise<Grant> {
  let outcome: Awaited<ReturnType<Connector["verifyRemoved"]>>;
  try {
    outcome = await connector.verifyRemoved({ grant, probe: await openProbeSecret(deps, grant) });
  } catch (error) {
    return recordRemovalFailure(deps, grant, `verification failed: ${describeError(error)}`, pending);
  }
  if (!outcome.removed) {
    const failing = outcome.evidence.checks.filter((c) => !c.passed).map((c) => `${c.check}: ${c.observed}`);
    return recordRemovalFailure(
      deps,
      grant,
      `verification saw the access still present (${failing.join("; ")})`,
      pending,
    );
  }
  const now = deps.clock.now();
  const receipt = verifiedReceipt(connector, grant, outcome.evidence, now);
  const verified = grantVerified(grant, now, outcome.evidence, receipt);
  // The probe secret has done its job: it is destroyed in the commit that records the proof.
  const stored = await commitGrantSteps(
    deps,
    pending?.stored ?? grant,
    verified,
    [...(pending?.events ?? []), verifiedEvent(grant, verified, now, outcome.evidence, receipt, "destroyed")],
    [destroyProbeSecret(grant)],
  );
  deps.observer.verified(stored, now - grant.expiresAt);
  return stored;
}

/** The audit event of a removal proven: the evidence, the receipt, and what became of the probe secret. */
export function verifiedEvent(
  before: Grant,
  verified: Grant,
  now: Millis,
  evidence: RemovalEvidence,
  receipt: RemovalReceipt,
  probeSecret: "destroyed" | "none",
): AuditDraft {
  return draft(
    "grant.verified",
    now,
    systemActor("verifier"),
    { grant: verified },
    {
      handle: before.handle,
      reason: before.endReason,
      evidence,
      receipt,
      overrunMs: now - before.expiresAt,
      probeSecret,
    },
  );
}
