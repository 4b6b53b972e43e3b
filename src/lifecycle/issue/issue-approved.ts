// Stage 4 entry: turns an approved request into a grant — auto-approved at request time, collected after a quorum, or
// break-glass — with the grant row committed before anything exists downstream (DESIGN §2), on every path.
import type { Connector, CredentialBinding, EntitlementSpec } from "../../connectors/index.js";
import type { AccessRequest, AuditDraft, Decision, Identity } from "../../domain/index.js";
import { openGrant } from "../../domain/index.js";
import type { Write } from "../../storage/index.js";
import { newId } from "../../support/index.js";
import { actorOf, draft } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { holdIdentity } from "./identity-hold.js";
import { type IssuedGrant, issueGrant } from "./issue-grant.js";
import { issueInProcess } from "./issue-in-process.js";

export interface IssueApprovedInput {
  /** The requester: whose credential it is. */
  readonly requester: Identity;
  /** The request in state `approved`, at the version the store holds (or version 1 when new). */
  readonly request: AccessRequest;
  readonly entitlement: EntitlementSpec;
  readonly connector: Connector;
  /** The decision that sets the grant's maximum. */
  readonly decision: Decision;
  /** Audit events of how the request came to be approved; committed with the grant. */
  readonly opening: readonly AuditDraft[];
  /** The request's version in the store, or null when it is new (inserted with the grant). */
  readonly storedVersion: number | null;
  /** Other writes for the same commit (notifications, a rotation to run after a break-glass grant). */
  readonly alongside?: readonly Write[];
  /**
   * Writes that commit whatever the outcome, even when the downstream call fails (single-use claims of the presented
   * credentials, the Idempotency-Key record): a replay must never get a second try.
   */
  readonly always?: readonly Write[];
  /** The key the caller proved it holds (DPoP): the credential is bound to it. */
  readonly binding?: CredentialBinding | null;
  /**
   * The registry version of the requester as authentication read it: the credential's commit asserts it instead of
   * reading the status again. Absent: the status is read here, once.
   */
  readonly identityVersion?: number | null | undefined;
}

export async function issueApproved(deps: LifecycleDeps, input: IssueApprovedInput): Promise<IssuedGrant> {
  const { requester, entitlement, connector, decision } = input;
  const now = deps.clock.now();
  const maxSeconds = Math.min(
    decision.maxDurationSeconds ?? entitlement.maxDurationSeconds,
    entitlement.maxDurationSeconds,
  );
  const grantId = newId("grt");
  // The clock of the grant starts now, at issue, not when the request was made.
  const request: AccessRequest = { ...input.request, grantId };
  const { handle, handleData } = connector.prepare({ grantId, identity: requester, entitlement });
  const grant = openGrant({
    id: grantId,
    requestId: request.id,
    identityId: requester.id,
    targetId: entitlement.targetId,
    entitlement: entitlement.name,
    connectorType: connector.type,
    handle,
    handleData,
    createdAt: now,
    expiresAt: now + Math.min(request.durationSeconds, maxSeconds) * 1000,
    maxExpiresAt: now + maxSeconds * 1000,
    // If this worker dies before the credential is handed out, the grant is removed once this claim lapses.
    dueAt: now + deps.settings.removalClaimMs,
  });
  const opening = [
    ...input.opening,
    draft(
      "grant.issuing",
      now,
      actorOf(requester),
      { grant },
      { handle, expiresAt: grant.expiresAt, maxExpiresAt: grant.maxExpiresAt },
    ),
  ];
  const alongside = input.alongside ?? [];
  const always = input.always ?? [];
  const binding = input.binding ?? null;
  const hold = await holdIdentity(deps, requester, input.identityVersion);
  if (connector.issuesInProcess) {
    return issueInProcess(deps, requester, request, grant, entitlement, connector, opening, {
      storedVersion: input.storedVersion,
      onIssued: alongside,
      always,
      binding,
      hold,
    });
  }
  const stored = input.storedVersion === null ? request : { ...request, version: input.storedVersion + 1 };
  await commit(deps, {
    writes: [
      input.storedVersion === null
        ? { kind: "insertRequest", request: stored }
        : { kind: "updateRequest", request: stored, expectedVersion: input.storedVersion },
      { kind: "insertGrant", grant },
      ...alongside,
      ...always,
    ],
    audit: opening,
  });
  return issueGrant(deps, requester, stored, grant, entitlement, connector, binding, hold);
}
