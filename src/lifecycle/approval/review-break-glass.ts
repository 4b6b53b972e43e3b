// The mandatory after-the-fact review of a break-glass grant, recorded by someone policy lets `review` it (by default,
// whoever could have approved it).

import type { AccessRequest, Identity } from "../../domain/index.js";
import { separationOfDuties } from "../../domain/index.js";
import { evaluateRequest } from "../policy/evaluate-request.js";
import { actorOf, draft } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { refuse } from "../shared/refuse.js";
import { loadRequestFor, retryOnConflict } from "./load-request.js";

export interface ReviewInput {
  readonly outcome: "justified" | "unjustified";
  readonly note?: string | undefined;
}

export function reviewBreakGlass(
  deps: LifecycleDeps,
  reviewer: Identity,
  requestId: string,
  input: ReviewInput,
): Promise<AccessRequest> {
  return retryOnConflict(async () => {
    const { request, requester, entitlement } = await loadRequestFor(
      deps,
      reviewer,
      requestId,
      ["issued", "failed"],
      "review",
    );
    const refusal = (errorCode: "invalid_state" | "approval_refused", message: string) =>
      refuse(deps, reviewer, { auditCode: "request.approval_refused", errorCode, message, requestId: request.id });
    if (!request.breakGlass || request.review === null) {
      throw await refusal("invalid_state", `request '${request.id}' is not a break-glass request`);
    }
    if (request.review.reviewedAt !== null) {
      throw await refusal(
        "invalid_state",
        `request '${request.id}' was already reviewed by ${request.review.reviewedBy}`,
      );
    }
    const separation = separationOfDuties(reviewer, requester, true);
    if (separation !== null) throw await refusal("approval_refused", separation.replace("approves", "reviews"));
    const verdict = evaluateRequest(
      deps,
      reviewer,
      entitlement,
      request.durationSeconds,
      request,
      request.facts ?? {
        sourceAddress: null,
        authMethod: null,
        claims: {},
        client: { kind: "api", interactive: false },
      },
      "review",
      requester,
    );
    if (verdict.outcome !== "allow") {
      throw await refusal(
        "approval_refused",
        `'${reviewer.id}' may not review the break-glass use of '${entitlement.name}' (${verdict.reason})`,
      );
    }
    const now = deps.clock.now();
    const reviewed: AccessRequest = {
      ...request,
      review: {
        ...request.review,
        reviewedBy: reviewer.id,
        reviewedAt: now,
        outcome: input.outcome,
        note: input.note?.slice(0, 2000) ?? null,
      },
      dueAt: null,
      updatedAt: now,
      version: request.version + 1,
    };
    await commit(deps, {
      writes: [{ kind: "updateRequest", request: reviewed, expectedVersion: request.version }],
      audit: [
        draft(
          "break_glass.reviewed",
          now,
          actorOf(reviewer),
          { request: reviewed },
          {
            outcome: input.outcome,
            note: reviewed.review?.note ?? null,
            overdue: request.review.overdueAt !== null,
            policies: verdict.determiningPolicies,
          },
        ),
      ],
    });
    deps.observer.approval?.("review_recorded");
    return reviewed;
  });
}
