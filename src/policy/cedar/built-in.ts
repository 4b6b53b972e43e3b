// The built-in rules for the privileged actions a policy set does not name: members of the admin group may perform
// them, so a policy folder written before these actions existed keeps its admins (docs/writing-policies.md).
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import { ADMIN_GROUP, PRIVILEGED_ACTIONS, type PrivilegedAction } from "../decider.js";
import { parseTerms } from "./annotations.js";
import type { CompiledPolicy } from "./policy-set.js";
import { scopeOf } from "./scope.js";

/** The id a built-in rule carries in decisions and audit events. */
export const builtInId = (action: string): string => `builtin:${ADMIN_GROUP}-${action}`;

/**
 * The actions some permit of the set names in its scope. A permit that leaves the action open names none, and a forbid
 * only narrows: a set that forbids rotation at weekends still relies on the built-in rule for who may rotate.
 */
export function namedActions(policies: readonly CompiledPolicy[]): Set<string> {
  const named = new Set<string>();
  for (const p of policies) if (p.effect === "permit") for (const a of p.scope.actions ?? []) named.add(a);
  return named;
}

/**
 * One permit per privileged action the set leaves unnamed. `review` gets none: unnamed, it is decided as `approve`
 * (who may approve a request may review a break-glass use of it), as before it had an action of its own.
 */
export function builtInPolicies(named: ReadonlySet<string>): CompiledPolicy[] {
  const wanted = PRIVILEGED_ACTIONS.filter((a): a is Exclude<PrivilegedAction, "review"> => a !== "review");
  return wanted
    .filter((action) => !named.has(action))
    .map((action) => {
      const text = `permit (principal in Group::"${ADMIN_GROUP}", action == Action::"${action}", resource);`;
      const json = cedar.policyToJson(text);
      if (json.type === "failure") throw new Error(`built-in rule for ${action} does not parse`);
      return {
        id: builtInId(action),
        file: "(built-in)",
        effect: "permit",
        text,
        scope: scopeOf(json.json),
        terms: parseTerms({}),
      };
    });
}
