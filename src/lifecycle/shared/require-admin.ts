// Who may use the admin-only reads and actions (audit log, discovery, reports, identity changes): admins only. The use
// cases call it themselves, so no route or other caller can skip it.
import type { Identity } from "../../domain/index.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { refuse } from "../shared/refuse.js";

/** Refuses (403, audited) a caller who is not an admin; `what` names what was asked for. */
export async function requireAdmin(deps: LifecycleDeps, caller: Identity, what: string): Promise<void> {
  if (caller.admin) return;
  throw await refuse(deps, caller, {
    auditCode: "auth.forbidden",
    errorCode: "forbidden",
    message: `${what} is for admins`,
  });
}
