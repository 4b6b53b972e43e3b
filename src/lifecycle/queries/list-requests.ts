// Which requests a caller may list: their own, those they may approve now or review, and every request for an admin.
import type { AccessRequest, Identity, RequestState } from "../../domain/index.js";
import { checkApprover, mayReview } from "../approval/approver-rights.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { BROKER, mayPerform } from "../shared/require-permission.js";

export interface RequestQuery {
  readonly states?: readonly RequestState[];
  /** Only this identity's requests. */
  readonly identityId?: string;
  /** Page after this request id. */
  readonly after?: string;
  readonly limit: number;
}

/** One page of the requests the caller may see; `next` is the id to page after, or null on the last page. */
export async function listRequests(
  deps: LifecycleDeps,
  caller: Identity,
  query: RequestQuery,
): Promise<{ requests: AccessRequest[]; next: string | null }> {
  const page = await deps.store.listRequests({
    limit: query.limit,
    ...(query.states && query.states.length > 0 ? { states: query.states } : {}),
    ...(query.identityId ? { identityId: query.identityId } : {}),
    ...(query.after ? { after: query.after } : {}),
  });
  const requests: AccessRequest[] = [];
  const mayAdmin = mayPerform(deps, caller, { action: "admin", resource: BROKER });
  for (const r of page) {
    if (mayAdmin || r.identityId === caller.id || (await inApproversQueue(deps, caller, r))) requests.push(r);
  }
  return { requests, next: page.length === query.limit ? (page.at(-1)?.id ?? null) : null };
}

/** A pending request the caller may approve, or a break-glass use whose review is due and the caller may record. */
async function inApproversQueue(deps: LifecycleDeps, caller: Identity, r: AccessRequest): Promise<boolean> {
  const reviewDue = r.breakGlass && r.review !== null && r.review.reviewedAt === null;
  if (r.state !== "pending" && !reviewDue) return false;
  const requester = await deps.catalog.identity(r.identityId);
  const entitlement = deps.catalog.entitlement(r.entitlement);
  if (requester === undefined || entitlement === undefined) return false;
  return r.state === "pending"
    ? checkApprover(deps, caller, requester, r, entitlement).ok
    : mayReview(deps, caller, requester, r, entitlement);
}
