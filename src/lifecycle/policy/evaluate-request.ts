// Stage 2, policy: asks the policy port for a decision on a request, an approval or a renewal, with the context it may use.
import type { EntitlementSpec } from "../../connectors/index.js";
import type { AccessRequest, Decision, Identity, Intent, RequestFacts } from "../../domain/index.js";
import type { PolicyAction } from "../../policy/index.js";
import type { LifecycleDeps, RequestMeta } from "../shared/deps.js";

export interface AskedFor {
  readonly justification?: string | null | undefined;
  readonly ticket?: string | null | undefined;
  readonly intent?: Intent | null | undefined;
  readonly breakGlass?: boolean | undefined;
}

/** The facts of a request made outside HTTP (tests, library use), or stored before facts were kept. */
export const NO_FACTS: RequestFacts = {
  sourceAddress: null,
  authMethod: null,
  claims: {},
  client: { kind: "api", interactive: false },
};

/** What the call proved about itself, kept with the request so policy can be asked again on the same facts. */
export function factsOf(meta: RequestMeta): RequestFacts {
  return {
    sourceAddress: meta.sourceAddress,
    authMethod: meta.authentication?.method ?? null,
    claims: meta.authentication?.claims ?? {},
    client: meta.client ?? { kind: "api", interactive: false },
  };
}

export function evaluateRequest(
  deps: LifecycleDeps,
  identity: Identity,
  entitlement: EntitlementSpec,
  durationSeconds: number,
  asked: AskedFor,
  facts: RequestFacts,
  action: PolicyAction = "request",
  requester: Identity | null = null,
): Decision {
  return deps.decider.decide({
    identity,
    action,
    resource: { type: "Entitlement", entitlement },
    durationSeconds,
    at: deps.clock.now(),
    context: {
      justification: asked.justification ?? null,
      ticket: asked.ticket ?? null,
      intent: asked.intent ?? null,
      sourceAddress: facts.sourceAddress,
      authMethod: facts.authMethod,
      claims: facts.claims,
      client: facts.client,
      breakGlass: asked.breakGlass ?? false,
      requester,
    },
  });
}

/** Asks policy again about a request as it was made (its own facts), e.g. at collection or after a policy change. */
export function evaluateStoredRequest(
  deps: LifecycleDeps,
  request: AccessRequest,
  requester: Identity,
  entitlement: EntitlementSpec,
  action: PolicyAction = request.breakGlass ? "break_glass" : "request",
): Decision {
  return evaluateRequest(
    deps,
    requester,
    entitlement,
    request.durationSeconds,
    request,
    request.facts ?? NO_FACTS,
    action,
  );
}

/** The audit data every decision carries: outcome, reason, determining policies and the policy-set version. */
export function decisionData(decision: Decision, version: string): Record<string, unknown> {
  return {
    decision: decision.outcome,
    reason: decision.reason,
    policies: decision.determiningPolicies,
    policyVersion: decision.policyVersion ?? version,
    approval: decision.approval,
    ...(decision.approvers && decision.approvers.length > 0 ? { approvers: decision.approvers } : {}),
    ...(decision.flags && decision.flags.length > 0 ? { flags: decision.flags } : {}),
    maxDurationSeconds: decision.maxDurationSeconds,
  };
}
