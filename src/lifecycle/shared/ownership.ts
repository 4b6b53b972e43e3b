// Who may act on a grant or a request: its own identity, or whom policy allows (`revoke` to end another's grant, `admin`
// for the rest). Every refusal is audited before it is returned.
import type { AccessRequest, Grant, Identity } from "../../domain/index.js";
import type { LifecycleDeps } from "./deps.js";
import { refuse } from "./refuse.js";
import { BROKER, type PermissionAsk, requirePermission } from "./require-permission.js";

async function loadOwn<T extends { id: string; identityId: string }>(
  deps: LifecycleDeps,
  caller: Identity,
  kind: "grant" | "request",
  id: string,
  load: (id: string) => Promise<T | null>,
  ask: (found: T) => Promise<PermissionAsk>,
): Promise<T> {
  const found = await load(id);
  if (!found) {
    throw await refuse(deps, caller, {
      auditCode: "request.rejected",
      errorCode: "not_found",
      message: `no ${kind} '${id.slice(0, 64)}'`,
    });
  }
  if (found.identityId !== caller.id) {
    await requirePermission(deps, caller, await ask(found), `${kind} '${found.id}' belongs to another identity`, {
      errorCode: "not_owner",
      ...(kind === "grant" ? { grantId: found.id } : { requestId: found.id }),
    });
  }
  return found;
}

/**
 * A grant the caller may act on: their own, or another's when policy allows `action`: `revoke` (on the grant's
 * entitlement, the grant's identity as requester) to end it, `admin` (on the broker) to read or renew it.
 */
export function loadOwnGrant(
  deps: LifecycleDeps,
  caller: Identity,
  grantId: string,
  action: "revoke" | "admin" = "admin",
): Promise<Grant> {
  return loadOwn(
    deps,
    caller,
    "grant",
    grantId,
    (id) => deps.store.getGrant(id),
    async (grant) => {
      const entitlement = deps.catalog.entitlement(grant.entitlement);
      if (action === "admin" || entitlement === undefined) return { action: "admin", resource: BROKER };
      const request = await deps.store.getRequest(grant.requestId);
      return {
        action,
        resource: { type: "Entitlement", entitlement },
        requester: (await deps.catalog.identity(grant.identityId)) ?? null,
        facts: request?.facts ?? null,
      };
    },
  );
}

/** A request the caller may read: their own, or another's when policy allows `admin` on the broker. */
export function loadOwnRequest(deps: LifecycleDeps, caller: Identity, requestId: string): Promise<AccessRequest> {
  return loadOwn(
    deps,
    caller,
    "request",
    requestId,
    (id) => deps.store.getRequest(id),
    async () => ({ action: "admin", resource: BROKER }),
  );
}
