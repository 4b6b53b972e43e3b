// The requester (or an admin) withdraws a request that is pending or approved but not yet collected.

import type { AccessRequest, Identity } from "../../domain/index.js";
import { transitionRequest } from "../../domain/index.js";
import { actorOf, draft } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { loadOwnRequest } from "../shared/ownership.js";
import { refuse } from "../shared/refuse.js";
import { retryOnConflict } from "./load-request.js";

export function cancelRequest(deps: LifecycleDeps, caller: Identity, requestId: string): Promise<AccessRequest> {
  return retryOnConflict(async () => {
    const request = await loadOwnRequest(deps, caller, requestId);
    if (request.state !== "pending" && request.state !== "approved") {
      throw await refuse(deps, caller, {
        auditCode: "request.rejected",
        errorCode: "invalid_state",
        message: `request '${request.id}' is ${request.state}; only a pending or uncollected request can be cancelled`,
        requestId: request.id,
        extensions: { state: request.state },
      });
    }
    const now = deps.clock.now();
    const cancelled = transitionRequest(request, "cancel", now, {
      stateReason: `cancelled by ${caller.id}`,
      dueAt: null,
    });
    await commit(deps, {
      writes: [{ kind: "updateRequest", request: cancelled, expectedVersion: request.version }],
      audit: [
        draft("request.cancelled", now, actorOf(caller), { request: cancelled }, { previousState: request.state }),
      ],
    });
    deps.observer.approval?.("cancelled");
    return cancelled;
  });
}
