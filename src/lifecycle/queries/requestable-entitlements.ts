// What a caller may ask for: every configured entitlement policy permits them to request now, asked as a request with
// the entitlement's default duration and the caller's own call. Nothing is recorded.
import type { EntitlementSpec } from "../../connectors/index.js";
import type { Decision, Identity } from "../../domain/index.js";
import { type AskedFor, evaluateRequest, factsOf } from "../policy/evaluate-request.js";
import type { LifecycleDeps, RequestMeta } from "../shared/deps.js";

export interface RequestableEntitlement {
  readonly entitlement: EntitlementSpec;
  /** The longest a request may ask for: the entitlement's maximum or policy's, whichever is shorter. */
  readonly maxDurationSeconds: number;
  readonly decision: Decision;
}

/** The entitlements among `names` (full names) that policy lets `caller` request with `asked`, in that order. */
export function requestableEntitlements(
  deps: LifecycleDeps,
  caller: Identity,
  names: readonly string[],
  asked: AskedFor,
  meta: RequestMeta,
): RequestableEntitlement[] {
  const facts = factsOf(meta);
  const found: RequestableEntitlement[] = [];
  for (const name of names) {
    const entitlement = deps.catalog.entitlement(name);
    if (!entitlement || !deps.catalog.connector(entitlement.targetId)) continue;
    const decision = evaluateRequest(deps, caller, entitlement, entitlement.defaultDurationSeconds, asked, facts);
    if (decision.outcome !== "allow") continue;
    const maxDurationSeconds = Math.min(
      entitlement.maxDurationSeconds,
      decision.maxDurationSeconds ?? entitlement.maxDurationSeconds,
    );
    found.push({ entitlement, maxDurationSeconds, decision });
  }
  return found;
}
