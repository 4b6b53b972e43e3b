// Loads what an approval-stage action needs — the request, its requester and entitlement — refusing (audited) what is missing.
import type { Connector, EntitlementSpec } from "../../connectors/index.js";
import type { AccessRequest, Identity, RequestState } from "../../domain/index.js";
import { ConflictError } from "../../storage/index.js";
import { evaluateRequest, NO_FACTS } from "../policy/evaluate-request.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { refuse } from "../shared/refuse.js";
import { BROKER, mayPerform } from "../shared/require-permission.js";

export interface LoadedRequest {
  readonly request: AccessRequest;
  readonly requester: Identity;
  readonly entitlement: EntitlementSpec;
  readonly connector: Connector;
}

export async function loadRequestFor(
  deps: LifecycleDeps,
  caller: Identity,
  requestId: string,
  states: readonly RequestState[],
  action: string,
): Promise<LoadedRequest> {
  const request = await deps.store.getRequest(requestId);
  if (!request) {
    throw await refuse(deps, caller, {
      auditCode: "request.rejected",
      errorCode: "not_found",
      message: `no request '${requestId.slice(0, 64)}'`,
    });
  }
  const requester = await deps.catalog.identity(request.identityId);
  const entitlement = deps.catalog.entitlement(request.entitlement);
  const connector = entitlement ? deps.catalog.connector(entitlement.targetId) : undefined;
  // Rights before state: a caller who may not act on this request learns nothing of it (not even its state).
  if (!mayActOn(deps, caller, request, requester, entitlement)) {
    throw await refuse(deps, caller, {
      auditCode: "request.approval_refused",
      errorCode: "approval_refused",
      message: `'${caller.id}' may not ${action} request '${request.id}'`,
      requestId: request.id,
    });
  }
  if (!states.includes(request.state)) {
    throw await refuse(deps, caller, {
      auditCode: "request.rejected",
      errorCode: "invalid_state",
      message: `request '${request.id}' is ${request.state}${request.stateReason ? ` (${request.stateReason})` : ""}; cannot ${action} it`,
      requestId: request.id,
      extensions: { state: request.state },
    });
  }
  if (!requester || !entitlement || !connector) {
    throw await refuse(deps, caller, {
      auditCode: "request.rejected",
      errorCode: "invalid_state",
      message: `request '${request.id}' names an identity or entitlement that is no longer configured`,
      requestId: request.id,
    });
  }
  return { request, requester, entitlement, connector };
}

/**
 * Whether `caller` may act on `request` at all: its requester, someone policy allows `admin` on the broker, or someone
 * policy lets `approve` (or, for a break-glass request, `review`) its entitlement. The action's own checks (separation
 * of duties, groups, quorum) come after the state check.
 */
function mayActOn(
  deps: LifecycleDeps,
  caller: Identity,
  request: AccessRequest,
  requester: Identity | undefined,
  entitlement: EntitlementSpec | undefined,
): boolean {
  if (caller.id === request.identityId) return true;
  if (mayPerform(deps, caller, { action: "admin", resource: BROKER })) return true;
  if (requester === undefined || entitlement === undefined) return false;
  const facts = request.facts ?? NO_FACTS;
  const may = (action: "approve" | "review") =>
    evaluateRequest(deps, caller, entitlement, request.durationSeconds, request, facts, action, requester).outcome ===
    "allow";
  return may("approve") || (request.breakGlass && may("review"));
}

/** Runs `attempt` again when another writer changed the request first (two approvers at once), up to 3 times. */
export async function retryOnConflict<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ConflictError) || i >= 3) throw error;
    }
  }
}
