// After a policy change, asks the new policies about every active grant, on the facts of its request: a grant they no
// longer permit is revoked (reason `policy_changed`) or, with `policies.onChange: expire`, left to run out, audited.
import type { Grant } from "../../domain/index.js";
import { ConflictError } from "../../storage/index.js";
import { describeError } from "../../support/index.js";
import { endAndRemove } from "../revoke/end-grant.js";
import { draft, systemActor } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { evaluateStoredRequest } from "./evaluate-request.js";

const actor = systemActor("policy");

export interface RecheckResult {
  readonly checked: number;
  readonly noLongerPermitted: number;
  readonly revoked: number;
}

export async function recheckActiveGrants(deps: LifecycleDeps, onChange: "revoke" | "expire"): Promise<RecheckResult> {
  let checked = 0;
  let noLongerPermitted = 0;
  let revoked = 0;
  let after: string | undefined;
  for (;;) {
    const page = await deps.store.listGrants({ states: ["active"], limit: 500, ...(after ? { after } : {}) });
    for (const grant of page) {
      checked++;
      const reason = await whyNotPermitted(deps, grant);
      if (reason === null) continue;
      noLongerPermitted++;
      try {
        if (onChange === "revoke") {
          await endAndRemove(deps, grant, "policy_changed", actor, reason);
          deps.observer.approval?.("policy_revoked");
          revoked++;
        } else {
          await commit(deps, {
            writes: [],
            audit: [
              draft(
                "grant.policy_no_longer_permits",
                deps.clock.now(),
                actor,
                { grant },
                {
                  reason,
                  policyVersion: deps.decider.version,
                  expiresAt: grant.expiresAt,
                },
              ),
            ],
          });
        }
      } catch (error) {
        if (error instanceof ConflictError) continue; // it ended or renewed meanwhile; the next change looks again
        deps.logger.error(
          { grantId: grant.id, err: describeError(error) },
          "could not act on a grant after a policy change",
        );
      }
    }
    if (page.length < 500) break;
    after = page.at(-1)?.id;
  }
  return { checked, noLongerPermitted, revoked };
}

/** Null when the current policies still permit the grant's request; otherwise why not. */
async function whyNotPermitted(deps: LifecycleDeps, grant: Grant): Promise<string | null> {
  const request = await deps.store.getRequest(grant.requestId);
  const identity = await deps.catalog.identity(grant.identityId);
  const entitlement = deps.catalog.entitlement(grant.entitlement);
  if (!request || !identity || !entitlement) return "its request, identity or entitlement is gone";
  const decision = evaluateStoredRequest(deps, request, identity, entitlement);
  if (decision.outcome === "deny") return `policy ${deps.decider.version}: ${decision.reason}`;
  return null;
}
