// The requester collects the credential of an approved request, once. Policy and every approver's right are checked
// again now; the grant is committed before the downstream call and its clock starts here, at issue.
import type { IssuedCredential } from "../../connectors/index.js";
import type { AccessRequest, Approval, Grant, Identity } from "../../domain/index.js";
import { formatApproval, liveApprovals, mergeRules, quorumMet, transitionRequest } from "../../domain/index.js";
import { issueApproved } from "../issue/issue-approved.js";
import { decisionData, evaluateStoredRequest } from "../policy/evaluate-request.js";
import { actorOf, draft, systemActor } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps, RequestMeta } from "../shared/deps.js";
import { refuse } from "../shared/refuse.js";
import { commitClaimed, singleUseClaims } from "../shared/single-use.js";
import { checkApprover } from "./approver-rights.js";
import { loadRequestFor } from "./load-request.js";
import { approvalSettings } from "./settings.js";

export interface Collected {
  readonly request: AccessRequest;
  readonly grant: Grant;
  readonly credential: IssuedCredential;
}

/**
 * The requester collects an approved credential. Collection issues, so a workload token presented here is claimed
 * like one presented at request time (single use), and a DPoP proof binds the credential to the caller's key.
 */
export async function collectCredential(
  deps: LifecycleDeps,
  caller: Identity,
  requestId: string,
  meta: RequestMeta = { sourceAddress: null },
): Promise<Collected> {
  const found = await deps.store.getRequest(requestId);
  if (found && found.identityId !== caller.id) {
    // Only the requester: an approver or admin never gets the credential of someone else's request.
    throw await refuse(deps, caller, {
      auditCode: "auth.forbidden",
      errorCode: "not_owner",
      message: `request '${found.id}' belongs to another identity; only its requester collects the credential`,
      requestId: found.id,
    });
  }
  const { request, requester, entitlement, connector } = await loadRequestFor(
    deps,
    caller,
    requestId,
    ["approved"],
    "collect",
  );
  const now = deps.clock.now();

  // Policy may have changed since approval: the request must still be permitted, on the facts it was made with.
  const decision = evaluateStoredRequest(deps, request, requester, entitlement);
  if (decision.outcome === "deny") {
    const denied = transitionRequest(request, "deny", now, { stateReason: decision.reason, dueAt: null, decision });
    await commit(deps, {
      writes: [{ kind: "updateRequest", request: denied, expectedVersion: request.version }],
      audit: [
        draft(
          "request.denied",
          now,
          systemActor("policy"),
          { request: denied },
          decisionData(decision, deps.decider.version),
          "denied",
        ),
      ],
    });
    throw await refuse(deps, caller, {
      auditCode: "request.rejected",
      errorCode: "denied",
      message: decision.reason,
      requestId: request.id,
    });
  }

  // Every approver's right is checked again: one who lost it (left the group, offboarded, policy change) no longer counts.
  const live = liveApprovals(request);
  const holding: Approval[] = [];
  const voided: { approver: string; reason: string }[] = [];
  for (const approval of live) {
    const approver = await deps.catalog.identity(approval.approver);
    const check = approver
      ? checkApprover(deps, approver, requester, request, entitlement)
      : { ok: false as const, reason: "no longer configured" };
    if (check.ok) holding.push({ ...approval, groups: check.groups });
    else voided.push({ approver: approval.approver, reason: check.reason });
  }
  // The quorum is the stricter of what was asked when the request was made and what policy asks now.
  const rules = mergeRules(request.decision?.approvers ?? [], decision.approvers ?? []);
  if (rules.length > 0 && !quorumMet(rules, holding)) {
    const reopened = transitionRequest(request, "reopen", now, {
      decision: { ...decision, approval: "required", approvers: rules },
      // A voided approval is dropped, so it cannot count again; the audit event keeps who and why.
      approvals: request.approvals.filter((a) => !voided.some((v) => v.approver === a.approver)),
      dueAt: now + approvalSettings(deps).pendingTimeoutMs,
      stateReason:
        voided.length > 0
          ? `approvals no longer hold: ${voided.map((v) => `${v.approver} (${v.reason})`).join("; ")}`
          : `policy now asks for more approvals (${formatApproval(rules)})`,
    });
    await commit(deps, {
      writes: [{ kind: "updateRequest", request: reopened, expectedVersion: request.version }],
      audit: [draft("request.approval_voided", now, systemActor("approval"), { request: reopened }, { voided })],
    });
    throw await refuse(deps, caller, {
      auditCode: "request.rejected",
      errorCode: "approval_withdrawn",
      message: `${reopened.stateReason}; the request waits for approvers again`,
      requestId: request.id,
    });
  }
  if (meta.proof && !connector.bindsCredentials) {
    throw await refuse(deps, caller, {
      auditCode: "request.rejected",
      errorCode: "invalid_request",
      message: `target '${entitlement.targetId}' cannot bind its credentials to a key; collect without a DPoP proof`,
      requestId: request.id,
      extensions: { field: "dpop" },
    });
  }
  const claims = singleUseClaims(meta, request.id, now);
  let issued: Collected | undefined;
  await commitClaimed(deps, caller, meta, claims, async () => {
    issued = await issueApproved(deps, {
      always: claims,
      identityVersion: caller.id === requester.id ? meta.authentication?.identityVersion : undefined,
      binding: meta.proof?.binding ?? null,
      requester,
      request: {
        ...request,
        decision: { ...decision, approval: request.decision?.approval ?? "required", approvers: rules },
      },
      entitlement,
      connector,
      // The maximum is the strictest of what was approved and what policy says now.
      decision: {
        ...decision,
        maxDurationSeconds: Math.min(
          decision.maxDurationSeconds ?? entitlement.maxDurationSeconds,
          request.decision?.maxDurationSeconds ?? entitlement.maxDurationSeconds,
        ),
      },
      opening: [
        draft(
          "request.collected",
          now,
          actorOf(caller),
          { request },
          {
            approvers: holding.map((a) => a.approver),
            ...decisionData(decision, deps.decider.version),
          },
        ),
      ],
      storedVersion: request.version,
    });
  });
  if (!issued) throw new Error("issueApproved returned nothing");
  deps.observer.approval?.("collected");
  return issued;
}
