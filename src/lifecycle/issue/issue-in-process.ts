// Stage 4, issue, for credentials made inside the broker (signed tokens): the grant is committed active in one step.
//
// Crash safety needs the grant durable before anything exists outside the broker. A token exists nowhere but in this
// process until the response carries it, and the response is sent only after this commit; so committing the grant
// together with its issue keeps the invariant with one durable write instead of two.

import type { Connector, CredentialBinding, EntitlementSpec } from "../../connectors/index.js";
import type { AccessRequest, AuditDraft, Grant, Identity } from "../../domain/index.js";
import { grantIssued, transitionRequest } from "../../domain/index.js";
import type { Write } from "../../storage/index.js";
import { draft, systemActor } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { callIssue } from "./call-issue.js";
import { identityInactive, identityLost } from "./identity-hold.js";
import { type IssuedGrant, issuedEvent, reviewDueAt } from "./issue-grant.js";

export async function issueInProcess(
  deps: LifecycleDeps,
  caller: Identity,
  request: AccessRequest,
  grant: Grant,
  entitlement: EntitlementSpec,
  connector: Connector,
  opening: readonly AuditDraft[],
  options: {
    /** The version of the request in the store, or null when it is new and inserted here. */
    readonly storedVersion?: number | null;
    /** Writes that commit only with the issued grant (notifications, a rotation to run after break-glass). */
    readonly onIssued?: readonly Write[];
    /** Writes that commit with the outcome, whichever it is (single-use claims, the Idempotency-Key record). */
    readonly always?: readonly Write[];
    /** The key the caller proved it holds (DPoP): the credential is bound to it. */
    readonly binding?: CredentialBinding | null;
    /** Holds the caller's identity active through the commit (identity-hold.ts); null when it has no status. */
    readonly hold?: Write | null;
  } = {},
): Promise<IssuedGrant> {
  const storedVersion = options.storedVersion ?? null;
  const always = options.always ?? [];
  const hold = options.hold ?? null;
  const put = (r: AccessRequest): Write =>
    storedVersion === null
      ? { kind: "insertRequest", request: r }
      : { kind: "updateRequest", request: r, expectedVersion: storedVersion };
  /** Nothing was made anywhere: the request is recorded as failed, the grant never existed. */
  const recordFailure = async (reason: string, data: Record<string, unknown>): Promise<void> => {
    const now = deps.clock.now();
    const failed = transitionRequest(request, "fail", now, { grantId: null, stateReason: reason, dueAt: null });
    await commit(deps, {
      writes: [put(failed), ...always],
      audit: [
        ...opening.filter((a) => a.code.startsWith("request.") || a.code.startsWith("break_glass.")),
        draft("request.failed", now, systemActor("issuer"), { request: failed }, data, "failure"),
      ],
    });
  };
  const issued = await callIssue(connector, grant, caller, entitlement, {
    intent: request.intent,
    binding: options.binding ?? null,
  });
  if (!issued.ok) {
    await recordFailure("the target could not issue the credential", { error: issued.reason });
    throw issued.error;
  }
  const { credential, handleData } = issued;

  const now = deps.clock.now();
  const active = grantIssued(grant, now, grant.expiresAt, handleData);
  const issuedRequest = transitionRequest(request, "issue", now, { dueAt: reviewDueAt(request) });
  // If this commit fails the credential is dropped unseen: it was never handed out and nothing else knows it.
  try {
    await commit(deps, {
      writes: [
        ...(hold ? [hold] : []),
        put(issuedRequest),
        { kind: "insertGrant", grant: active },
        ...(options.onIssued ?? []),
        ...always,
      ],
      audit: [...opening, issuedEvent(caller, grant, active, now)],
    });
  } catch (error) {
    // The identity was offboarded (or went dormant) after authentication read it: refused, and the attempt recorded.
    const lost = await identityLost(deps, caller, hold, error);
    if (lost === null) throw error;
    await recordFailure(`identity ${lost} while the credential was being issued`, { identityStatus: lost });
    throw identityInactive(caller.id, lost);
  }
  deps.observer.issued(active);
  return { request: issuedRequest, grant: active, credential };
}
