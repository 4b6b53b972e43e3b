// Stage 2, policy: asks the policy port for a decision on a request or a renewal, with the context it may use.
import type { EntitlementSpec } from "../../connectors/connector.js";
import type { Decision, Identity } from "../../domain/types.js";
import type { PolicyAction } from "../../policy/decider.js";
import type { LifecycleDeps, RequestMeta } from "../deps.js";

export function evaluateRequest(
  deps: LifecycleDeps,
  identity: Identity,
  entitlement: EntitlementSpec,
  durationSeconds: number,
  context: { justification?: string | undefined; ticket?: string | undefined; intent?: string | undefined },
  meta: RequestMeta,
  action: PolicyAction = "request",
): Decision {
  return deps.decider.decide({
    identity,
    action,
    entitlement,
    durationSeconds,
    context: {
      justification: context.justification ?? null,
      ticket: context.ticket ?? null,
      intent: context.intent ?? null,
      sourceAddress: meta.sourceAddress,
      authMethod: meta.authentication?.method ?? null,
      claims: meta.authentication?.claims ?? {},
    },
  });
}
