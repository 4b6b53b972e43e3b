// Who may use the console: whom policy allows `admin` on the broker, and identities that policy lets approve at least
// one configured entitlement.
import type { Identity } from "../../domain/index.js";
import { evaluateRequest, NO_FACTS } from "../policy/evaluate-request.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { BROKER, mayPerform } from "../shared/require-permission.js";

/** Whether `identity` may sign in to (and keep using) the console; `entitlements` are full names. */
export function mayUseConsole(deps: LifecycleDeps, identity: Identity, entitlements: readonly string[]): boolean {
  if (identity.status !== "active") return false;
  if (mayPerform(deps, identity, { action: "admin", resource: BROKER })) return true;
  for (const name of entitlements) {
    const spec = deps.catalog.entitlement(name);
    if (!spec) continue;
    const verdict = evaluateRequest(deps, identity, spec, 60, {}, NO_FACTS, "approve");
    if (verdict.outcome === "allow") return true;
  }
  return false;
}
