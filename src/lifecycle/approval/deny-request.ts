// An approver denies a pending request: the requester learns who and why. Only someone who could approve may deny.

import type { AccessRequest, Identity } from "../../domain/index.js";
import { transitionRequest } from "../../domain/index.js";
import { actorOf, draft } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { refuse } from "../shared/refuse.js";
import { checkApprover } from "./approver-rights.js";
import { loadRequestFor, retryOnConflict } from "./load-request.js";

export function denyRequest(
  deps: LifecycleDeps,
  approver: Identity,
  requestId: string,
  input: { reason?: string | undefined },
): Promise<AccessRequest> {
  return retryOnConflict(async () => {
    const { request, requester, entitlement } = await loadRequestFor(deps, approver, requestId, ["pending"], "deny");
    const check = checkApprover(deps, approver, requester, request, entitlement);
    if (!check.ok) {
      throw await refuse(deps, approver, {
        auditCode: "request.approval_refused",
        errorCode: "approval_refused",
        message: check.reason,
        requestId: request.id,
      });
    }
    const now = deps.clock.now();
    const reason = `denied by ${approver.id}${input.reason ? `: ${input.reason.slice(0, 500)}` : ""}`;
    const denied = transitionRequest(request, "deny", now, { stateReason: reason, dueAt: null });
    await commit(deps, {
      writes: [{ kind: "updateRequest", request: denied, expectedVersion: request.version }],
      audit: [
        draft("request.denied", now, actorOf(approver), { request: denied }, { reason, by: approver.id }, "denied"),
      ],
    });
    deps.observer.approval?.("denied");
    deps.observer.approvalLatency?.("denied", now - request.createdAt);
    return denied;
  });
}
