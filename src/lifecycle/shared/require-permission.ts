// Who may perform a privileged action (revoke another's grant, offboard, discover, read the audit log, administer…):
// the policy decider, asked about the action's resource. The use cases call it themselves, so no route can skip it,
// and every refusal is audited before it is returned.
import type { Decision, Identity, RequestFacts } from "../../domain/index.js";
import { describeResource, type PolicyAction, type PolicyResource } from "../../policy/index.js";
import type { LifecycleDeps } from "./deps.js";
import { refuse } from "./refuse.js";

export interface PermissionAsk {
  readonly action: PolicyAction;
  readonly resource: PolicyResource;
  /** Whose request or grant the action is about (revoke, review); the caller otherwise. */
  readonly requester?: Identity | null;
  /** The facts of the request the action is about, when there is one. */
  readonly facts?: RequestFacts | null;
}

/** The decision on `ask` for `caller`, now. The privileged actions carry no ticket, intent or duration. */
export function decidePermission(deps: LifecycleDeps, caller: Identity, ask: PermissionAsk): Decision {
  const facts = ask.facts ?? null;
  return deps.decider.decide({
    identity: caller,
    action: ask.action,
    resource: ask.resource,
    durationSeconds: 0,
    at: deps.clock.now(),
    context: {
      justification: null,
      ticket: null,
      intent: null,
      sourceAddress: facts?.sourceAddress ?? null,
      authMethod: facts?.authMethod ?? null,
      claims: facts?.claims ?? {},
      client: facts?.client ?? { kind: "api", interactive: false },
      breakGlass: false,
      requester: ask.requester ?? null,
    },
  });
}

/** Whether policy lets `caller` perform `ask` now (for filters and for what a session may show); nothing is audited. */
export function mayPerform(deps: LifecycleDeps, caller: Identity, ask: PermissionAsk): boolean {
  return decidePermission(deps, caller, ask).outcome === "allow";
}

export interface RefusalOptions {
  readonly errorCode?: "forbidden" | "not_owner";
  readonly requestId?: string | null;
  readonly grantId?: string | null;
}

/**
 * Refuses (403, audited with the action, resource, deciding policies and reason) a caller policy does not let perform
 * `ask`; `what` names what was asked for. Returns the allowing decision.
 */
export async function requirePermission(
  deps: LifecycleDeps,
  caller: Identity,
  ask: PermissionAsk,
  what: string,
  options: RefusalOptions = {},
): Promise<Decision> {
  const decision = decidePermission(deps, caller, ask);
  if (decision.outcome === "allow") return decision;
  const resource = describeResource(ask.resource);
  throw await refuse(deps, caller, {
    auditCode: "auth.forbidden",
    errorCode: options.errorCode ?? "forbidden",
    message: `${what}: policy does not let '${caller.id}' ${ask.action} ${resource}`,
    requestId: options.requestId ?? null,
    grantId: options.grantId ?? null,
    data: {
      action: ask.action,
      resource,
      policies: decision.determiningPolicies,
      decision: decision.reason,
      policyVersion: decision.policyVersion ?? deps.decider.version,
    },
    extensions: { action: ask.action },
  });
}

/**
 * Discovery scans and may remove accounts on every target it covers, so it needs `discover` on each of them; the first
 * target policy refuses is named in the refusal.
 */
export async function requireDiscoverAll(
  deps: LifecycleDeps,
  caller: Identity,
  targetIds: Iterable<string>,
  what: string,
  facts: RequestFacts | null = null,
): Promise<void> {
  for (const id of targetIds) {
    await requirePermission(deps, caller, { action: "discover", resource: { type: "Target", id }, facts }, what);
  }
}

/** The broker itself, the resource of read_audit, export_audit and admin. */
export const BROKER: PolicyResource = { type: "Broker" };
