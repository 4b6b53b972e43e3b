// Who may act on a grant or a request: its own identity, or an admin. Every refusal is audited before it is returned.
import type { AccessRequest, Grant, Identity } from "../../domain/index.js";
import type { LifecycleDeps } from "./deps.js";
import { refuse } from "./refuse.js";

async function loadOwn<T extends { id: string; identityId: string }>(
  deps: LifecycleDeps,
  caller: Identity,
  kind: "grant" | "request",
  id: string,
  load: (id: string) => Promise<T | null>,
): Promise<T> {
  const found = await load(id);
  if (!found) {
    throw await refuse(deps, caller, {
      auditCode: "request.rejected",
      errorCode: "not_found",
      message: `no ${kind} '${id.slice(0, 64)}'`,
    });
  }
  if (found.identityId !== caller.id && !caller.admin) {
    throw await refuse(deps, caller, {
      auditCode: "auth.forbidden",
      errorCode: "not_owner",
      message: `${kind} '${found.id}' belongs to another identity`,
      ...(kind === "grant" ? { grantId: found.id } : { requestId: found.id }),
    });
  }
  return found;
}

/** A grant the caller may act on: their own, or any grant for an admin. */
export function loadOwnGrant(deps: LifecycleDeps, caller: Identity, grantId: string): Promise<Grant> {
  return loadOwn(deps, caller, "grant", grantId, (id) => deps.store.getGrant(id));
}

/** A request the caller may read: their own, or any request for an admin. */
export function loadOwnRequest(deps: LifecycleDeps, caller: Identity, requestId: string): Promise<AccessRequest> {
  return loadOwn(deps, caller, "request", requestId, (id) => deps.store.getRequest(id));
}
