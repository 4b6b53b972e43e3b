// The requester changes a pending request. Policy decides again; approvals given to the old version stop counting,
// because each is bound to the hash of the request its approver saw.

import type { AccessRequest, Identity } from "../../domain/index.js";
import { durationAsked, type IntentInput, intentOf, requestHash, transitionRequest } from "../../domain/index.js";
import { decisionData, evaluateStoredRequest } from "../policy/evaluate-request.js";
import { actorOf, draft } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { loadOwnRequest } from "../shared/ownership.js";
import { refuse } from "../shared/refuse.js";
import { retryOnConflict } from "./load-request.js";
import { approvalSettings } from "./settings.js";

export interface ModifyInput {
  readonly duration?: string | number | undefined;
  readonly justification?: string | undefined;
  readonly ticket?: string | undefined;
  readonly intent?: IntentInput | undefined;
}

export function modifyRequest(
  deps: LifecycleDeps,
  caller: Identity,
  requestId: string,
  input: ModifyInput,
): Promise<AccessRequest> {
  return retryOnConflict(async () => {
    const request = await loadOwnRequest(deps, caller, requestId);
    const entitlement = deps.catalog.entitlement(request.entitlement);
    const requester = await deps.catalog.identity(request.identityId);
    const reject = (
      errorCode: "invalid_state" | "invalid_duration" | "duration_too_long" | "unknown_entitlement" | "invalid_request",
      message: string,
    ) => refuse(deps, caller, { auditCode: "request.rejected", errorCode, message, requestId: request.id });
    if (request.state !== "pending" || !entitlement || !requester) {
      throw await reject(
        "invalid_state",
        `request '${request.id}' is ${request.state}; only a pending request can be changed`,
      );
    }
    let durationSeconds = request.durationSeconds;
    if (input.duration !== undefined) {
      const asked = durationAsked(entitlement, input.duration);
      if ("code" in asked) throw await reject(asked.code, asked.message);
      durationSeconds = asked.seconds;
    }
    const now = deps.clock.now();
    const changed: AccessRequest = {
      ...request,
      durationSeconds,
      justification: input.justification ?? request.justification,
      ticket: input.ticket ?? request.ticket,
      intent: input.intent === undefined ? request.intent : intentOf(input.intent),
      revision: request.revision + 1,
    };
    const decision = evaluateStoredRequest(deps, changed, requester, entitlement);
    const tooLong = decision.maxDurationSeconds !== null && durationSeconds > decision.maxDurationSeconds;
    const denied = decision.outcome === "deny" || tooLong;
    const next: AccessRequest = denied
      ? transitionRequest(changed, "deny", now, {
          decision,
          dueAt: null,
          stateReason: tooLong
            ? `duration ${durationSeconds}s is above the ${decision.maxDurationSeconds}s policy allows`
            : decision.reason,
        })
      : decision.approval === "auto"
        ? // Policy now approves the changed ask by itself: the requester may collect it.
          transitionRequest(changed, "approve", now, {
            decision,
            dueAt: now + approvalSettings(deps).collectTimeoutMs,
          })
        : transitionRequest(changed, "modify", now, { decision });
    await commit(deps, {
      writes: [{ kind: "updateRequest", request: next, expectedVersion: request.version }],
      audit: [
        draft(
          "request.modified",
          now,
          actorOf(caller),
          { request: next },
          {
            revision: next.revision,
            previousHash: requestHash(request),
            requestHash: requestHash(next),
            voidedApprovals: request.approvals.filter((a) => a.requestHash === requestHash(request)).length,
            ...decisionData(decision, deps.decider.version),
          },
        ),
        ...(denied
          ? [draft("request.denied", now, actorOf(caller), { request: next }, { reason: next.stateReason }, "denied")]
          : []),
      ],
    });
    return next;
  });
}
