// Which grants a caller may list and whose timelines they may read: their own, or anyone's for whom policy allows
// `admin` on the broker.
import type { AuditEvent, Grant, GrantState, Identity } from "../../domain/index.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { loadOwnGrant } from "../shared/ownership.js";
import { BROKER, mayPerform, requirePermission } from "../shared/require-permission.js";

/** The most events a timeline holds (a request's too). */
export const TIMELINE_LIMIT = 1000;

export interface GrantQuery {
  readonly states?: readonly GrantState[];
  /** Another identity's grants: for whom policy allows `admin`. */
  readonly identityId?: string;
  readonly targetId?: string;
  /** Page after this grant id. */
  readonly after?: string;
  readonly limit: number;
}

/** One page of the caller's grants (anyone's with `admin`); `next` is the id to page after, or null on the last page. */
export async function listGrants(
  deps: LifecycleDeps,
  caller: Identity,
  query: GrantQuery,
): Promise<{ grants: readonly Grant[]; next: string | null }> {
  const another = query.identityId !== undefined && query.identityId !== caller.id;
  // Another identity's grants need `admin` (refused, audited); with no identity asked for, `admin` shows everyone's.
  if (another) {
    await requirePermission(deps, caller, { action: "admin", resource: BROKER }, "another identity's grants", {
      errorCode: "not_owner",
    });
  }
  const everyone = query.identityId === undefined && mayPerform(deps, caller, { action: "admin", resource: BROKER });
  const identityId = another ? query.identityId : everyone ? undefined : caller.id;
  const grants = await deps.store.listGrants({
    limit: query.limit,
    ...(query.states && query.states.length > 0 ? { states: query.states } : {}),
    ...(identityId !== undefined ? { identityId } : {}),
    ...(query.targetId ? { targetId: query.targetId } : {}),
    ...(query.after ? { after: query.after } : {}),
  });
  return { grants, next: grants.length === query.limit ? (grants.at(-1)?.id ?? null) : null };
}

/** The audit events of a grant the caller may read and of its request, in order. */
export async function grantTimeline(deps: LifecycleDeps, caller: Identity, id: string): Promise<readonly AuditEvent[]> {
  const grant = await loadOwnGrant(deps, caller, id);
  return deps.store.auditFor(
    { grantId: grant.id, ...(grant.requestId ? { requestId: grant.requestId } : {}) },
    TIMELINE_LIMIT,
  );
}
