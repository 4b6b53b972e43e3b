// Stage 3, approval: an approver approves the exact request they saw; the quorum met moves it to `approved`, to be
// collected by its requester. Separation of duties is checked here, in code, whatever policy says.

import type { AccessRequest, Approval, Identity } from "../../domain/index.js";
import { liveApprovals, quorumMet, requestHash, transitionRequest } from "../../domain/index.js";
import { actorOf, draft } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { refuse } from "../shared/refuse.js";
import { checkApprover } from "./approver-rights.js";
import { loadRequestFor, retryOnConflict } from "./load-request.js";
import { approvalSettings } from "./settings.js";

export interface ApproveInput {
  /** The hash the approver saw (`GET /v1/requests/{id}` shows it); the approval binds to it. */
  readonly requestHash: string;
  readonly note?: string | undefined;
}

export function approveRequest(
  deps: LifecycleDeps,
  approver: Identity,
  requestId: string,
  input: ApproveInput,
): Promise<AccessRequest> {
  return retryOnConflict(async () => {
    const { request, requester, entitlement } = await loadRequestFor(deps, approver, requestId, ["pending"], "approve");
    const refuseWith = async (errorCode: "approval_refused" | "request_changed", reason: string) => {
      deps.observer.approval?.("denied");
      return refuse(deps, approver, {
        auditCode: "request.approval_refused",
        errorCode,
        message: reason,
        requestId: request.id,
        data: { requestHash: input.requestHash.slice(0, 80) },
      });
    };
    const current = requestHash(request);
    if (input.requestHash !== current) {
      throw await refuseWith(
        "request_changed",
        `request '${request.id}' changed since it was read; read it again and approve what it is now`,
      );
    }
    const check = checkApprover(deps, approver, requester, request, entitlement);
    if (!check.ok) throw await refuseWith("approval_refused", check.reason);
    const live = liveApprovals(request);
    if (live.some((a) => a.approver === approver.id)) {
      throw await refuseWith("approval_refused", `'${approver.id}' has already approved this request`);
    }
    const now = deps.clock.now();
    const approval: Approval = {
      approver: approver.id,
      at: now,
      requestHash: current,
      groups: check.groups,
      note: input.note?.slice(0, 500) ?? null,
    };
    const approvals = [...request.approvals, approval];
    const rules = request.decision?.approvers ?? [];
    const met = quorumMet(rules, [...live, approval]);
    const updated: AccessRequest = met
      ? transitionRequest(request, "approve", now, { approvals, dueAt: now + approvalSettings(deps).collectTimeoutMs })
      : { ...request, approvals, updatedAt: now, version: request.version + 1 };
    const recorded = draft(
      "request.approval_recorded",
      now,
      actorOf(approver),
      { request: updated },
      {
        requestHash: current,
        groups: check.groups,
        policies: check.policies,
        quorumMet: met,
      },
    );
    await commit(deps, {
      writes: [{ kind: "updateRequest", request: updated, expectedVersion: request.version }],
      audit: met
        ? [
            recorded,
            draft(
              "request.approved",
              now,
              actorOf(approver),
              { request: updated },
              {
                approvers: [...live, approval].map((a) => a.approver),
                rules,
                collectBy: updated.dueAt,
              },
            ),
          ]
        : [recorded],
    });
    deps.observer.approval?.(met ? "approved" : "approval_recorded");
    if (met) deps.observer.approvalLatency?.("approved", now - request.createdAt);
    return updated;
  });
}
