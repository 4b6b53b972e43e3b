// Reading one request and its timeline: its requester, an admin, or anyone who may approve or review it.
import type { AccessRequest, AuditEvent, Grant, Identity } from "../../domain/index.js";
import { checkApprover, mayReview } from "../approval/approver-rights.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { loadOwnRequest } from "../shared/ownership.js";
import { TIMELINE_LIMIT } from "./list-grants.js";

export interface RequestView {
  readonly request: AccessRequest;
  readonly grant: Grant | null;
  /** The identity that asked, as registered now; undefined when the broker no longer knows it. */
  readonly requester: Identity | undefined;
}

/** The request with its grant and requester; refused (audited) when the caller may not read it. */
export async function readRequest(deps: LifecycleDeps, caller: Identity, id: string): Promise<RequestView> {
  const { found, requester } = await readableRequest(deps, caller, id);
  const grant = found.grantId ? await deps.store.getGrant(found.grantId) : null;
  return { request: found, grant, requester: requester ?? (await deps.catalog.identity(found.identityId)) };
}

/** The audit events of the request and of its grant, in order; refused as `readRequest` is. */
export async function requestTimeline(
  deps: LifecycleDeps,
  caller: Identity,
  id: string,
): Promise<readonly AuditEvent[]> {
  const { found } = await readableRequest(deps, caller, id);
  return deps.store.auditFor(
    { requestId: found.id, ...(found.grantId ? { grantId: found.grantId } : {}) },
    TIMELINE_LIMIT,
  );
}

/** A request its requester, an admin, or someone who may approve (or review) it may read; refused otherwise. */
async function readableRequest(
  deps: LifecycleDeps,
  caller: Identity,
  id: string,
): Promise<{ found: AccessRequest; requester: Identity | undefined }> {
  const stored = await deps.store.getRequest(id);
  const requester = stored ? await deps.catalog.identity(stored.identityId) : undefined;
  const entitlement = stored ? deps.catalog.entitlement(stored.entitlement) : undefined;
  if (
    stored &&
    requester &&
    entitlement &&
    stored.identityId !== caller.id &&
    (checkApprover(deps, caller, requester, stored, entitlement).ok ||
      mayReview(deps, caller, requester, stored, entitlement))
  ) {
    return { found: stored, requester };
  }
  return { found: await loadOwnRequest(deps, caller, id), requester };
}
