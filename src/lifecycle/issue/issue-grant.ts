// Stage 4, issue: the downstream call for a grant already committed in `issuing`, then `active` — or removal of leftovers.

import type { Connector, CredentialBinding, EntitlementSpec, IssuedCredential } from "../../connectors/index.js";
import type { AccessRequest, AuditDraft, Grant, Identity, Millis } from "../../domain/index.js";
import { grantEnded, grantIssued, transitionRequest } from "../../domain/index.js";
import type { Write } from "../../storage/index.js";
import { describeError } from "../../support/index.js";
import { driveRemoval } from "../revoke/drive-removal.js";
import { endAndRemove } from "../revoke/end-grant.js";
import { actorOf, draft, systemActor } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { keepProbeSecret } from "../verify/probe-secret.js";
import { callIssue } from "./call-issue.js";
import { identityInactive, identityLost } from "./identity-hold.js";

/** After issue, a request is due again only for its break-glass review deadline. */
export function reviewDueAt(request: AccessRequest): number | null {
  return request.review !== null && request.review.reviewedAt === null ? request.review.dueAt : null;
}

export interface IssuedGrant {
  readonly request: AccessRequest;
  readonly grant: Grant;
  readonly credential: IssuedCredential;
}

export async function issueGrant(
  deps: LifecycleDeps,
  caller: Identity,
  request: AccessRequest,
  grant: Grant,
  entitlement: EntitlementSpec,
  connector: Connector,
  binding: CredentialBinding | null = null,
  /** Holds the caller's identity active through the commit (identity-hold.ts); null when it has no status. */
  hold: Write | null = null,
): Promise<IssuedGrant> {
  const issued = await callIssue(connector, grant, caller, entitlement, { intent: request.intent, binding });
  if (!issued.ok) {
    await failIssue(deps, request, grant, issued.reason);
    throw issued.error;
  }
  const { credential, handleData, probe } = issued;

  const now = deps.clock.now();
  const active = grantIssued(grant, now, grant.expiresAt, handleData);
  const issuedRequest = transitionRequest(request, "issue", now, { dueAt: reviewDueAt(request) });
  try {
    await commit(deps, {
      writes: [
        ...(hold ? [hold] : []),
        { kind: "updateGrant", grant: active, expectedVersion: grant.version },
        { kind: "updateRequest", request: issuedRequest, expectedVersion: request.version },
        ...(probe ? [keepProbeSecret(deps, grant, probe)] : []),
      ],
      audit: [issuedEvent(caller, grant, active, now)],
    });
  } catch (error) {
    // No audit record, no credential (DESIGN §2): take back what was just made. The grant stays `issuing`
    // and is removed again by the scheduler once its claim lapses, in case this attempt fails too.
    await connector.revoke({ grant }).catch((revokeError: unknown) => {
      deps.logger.error(
        { grantId: grant.id, err: describeError(revokeError) },
        "could not take back an unaudited credential",
      );
    });
    // The identity was offboarded (or went dormant) after authentication read it: the grant ends now, its removal
    // verified like any other, and the caller is refused.
    const lost = await identityLost(deps, caller, hold, error).catch(() => null);
    if (lost === null) throw error;
    const note = `identity ${lost} while the credential was being issued`;
    await endAndRemove(
      deps,
      grant,
      lost === "offboarded" ? "offboarded" : "revoked",
      systemActor("issuer"),
      note,
    ).catch((endError: unknown) => {
      // Ended by the offboarding already, or left `issuing` under a claim: the scheduler finishes the removal.
      deps.logger.warn(
        { grantId: grant.id, err: describeError(endError) },
        "could not end a grant after a late status change",
      );
    });
    throw identityInactive(caller.id, lost);
  }
  deps.observer.issued(active);
  return { request: issuedRequest, grant: active, credential };
}

async function failIssue(deps: LifecycleDeps, request: AccessRequest, grant: Grant, reason: string): Promise<void> {
  const now = deps.clock.now();
  const ending = grantEnded(grant, "issue_failed", "issue_failed", "system", now, now + deps.settings.removalClaimMs);
  const failed = transitionRequest(request, "fail", now, {
    stateReason: "the target could not issue the credential",
    dueAt: null,
  });
  await commit(deps, {
    writes: [
      { kind: "updateGrant", grant: { ...ending, lastError: reason }, expectedVersion: grant.version },
      { kind: "updateRequest", request: failed, expectedVersion: request.version },
    ],
    audit: [
      draft("grant.issue_failed", now, systemActor("issuer"), { grant: ending }, { error: reason }, "failure"),
      draft(
        "request.failed",
        now,
        systemActor("issuer"),
        { request: failed },
        { reason: failed.stateReason },
        "failure",
      ),
    ],
  });
  // Whatever the failed call may have left downstream is removed and the removal verified, like any other grant.
  await driveRemoval(deps, { ...ending, lastError: reason });
}

/** The audit event of a grant made active for `caller`, in whichever commit issues it (downstream or in process). */
export function issuedEvent(caller: Identity, grant: Grant, active: Grant, now: Millis): AuditDraft {
  return draft(
    "grant.issued",
    now,
    actorOf(caller),
    { grant: active },
    { handle: grant.handle, expiresAt: active.expiresAt },
  );
}
