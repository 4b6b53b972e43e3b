// Who may approve a request (separation of duties in code, the group the requirement names, and Cedar's `approve`),
// and who may review a break-glass use (separation of duties and Cedar's `review`).
import type { EntitlementSpec } from "../../connectors/index.js";
import type { AccessRequest, Identity } from "../../domain/index.js";
import { separationOfDuties } from "../../domain/index.js";
import { evaluateRequest, NO_FACTS } from "../policy/evaluate-request.js";
import type { LifecycleDeps } from "../shared/deps.js";

export type ApproverCheck =
  | { readonly ok: true; readonly groups: readonly string[]; readonly policies: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/**
 * Whether `approver` may approve (or deny) `request` now: active, not the requester (nor the owner of a non-human
 * requester when policy says so), in a group the requirement names, and permitted `approve` on the entitlement.
 */
export function checkApprover(
  deps: LifecycleDeps,
  approver: Identity,
  requester: Identity,
  request: AccessRequest,
  entitlement: EntitlementSpec,
): ApproverCheck {
  if (approver.status !== "active") return { ok: false, reason: `approver '${approver.id}' is ${approver.status}` };
  const decision = request.decision;
  const separation = separationOfDuties(approver, requester, decision?.ownerMayApprove ?? true);
  if (separation !== null) return { ok: false, reason: separation };
  const named = (decision?.approvers ?? []).map((r) => r.group);
  const groups = named.filter((g) => approver.groups.includes(g));
  if (groups.length === 0) {
    return {
      ok: false,
      reason: `'${approver.id}' is in none of the groups that approve this request (${named.join(", ") || "none"})`,
    };
  }
  const verdict = evaluateRequest(
    deps,
    approver,
    entitlement,
    request.durationSeconds,
    request,
    request.facts ?? NO_FACTS,
    "approve",
    requester,
  );
  if (verdict.outcome !== "allow") return { ok: false, reason: `policy: ${verdict.reason}` };
  return { ok: true, groups, policies: verdict.determiningPolicies };
}

/**
 * Whether `reviewer` may record the review of the break-glass `request` now (the checks `reviewBreakGlass` makes): a
 * review is due, the reviewer is active, not the requester, and permitted `review` on the entitlement.
 */
export function mayReview(
  deps: LifecycleDeps,
  reviewer: Identity,
  requester: Identity,
  request: AccessRequest,
  entitlement: EntitlementSpec,
): boolean {
  if (!request.breakGlass || request.review === null || request.review.reviewedAt !== null) return false;
  if (reviewer.status !== "active" || separationOfDuties(reviewer, requester, true) !== null) return false;
  const verdict = evaluateRequest(
    deps,
    reviewer,
    entitlement,
    request.durationSeconds,
    request,
    request.facts ?? NO_FACTS,
    "review",
    requester,
  );
  return verdict.outcome === "allow";
}
