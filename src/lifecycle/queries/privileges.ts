// Which privileged actions a caller may perform, so the console shows only the pages it can use. Policy decides; the
// answer is a hint for display, and every use case still asks again (and audits a refusal) when it is called.
import type { Identity } from "../../domain/index.js";
import type { PrivilegedAction } from "../../policy/index.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { BROKER, mayPerform } from "../shared/require-permission.js";

/**
 * The broker-wide actions policy allows `caller` (`read_audit`, `export_audit`, `admin`), and `discover` and `rotate`
 * when it allows them on at least one of `targetIds`. The actions on one identity or one grant are not listed: they
 * depend on which.
 */
export function privilegesOf(deps: LifecycleDeps, caller: Identity, targetIds: Iterable<string>): PrivilegedAction[] {
  const granted: PrivilegedAction[] = [];
  for (const action of ["read_audit", "export_audit", "admin"] as const) {
    if (mayPerform(deps, caller, { action, resource: BROKER })) granted.push(action);
  }
  const targets = [...targetIds];
  for (const action of ["discover", "rotate"] as const) {
    if (targets.some((id) => mayPerform(deps, caller, { action, resource: { type: "Target", id } }))) {
      granted.push(action);
    }
  }
  return granted;
}
