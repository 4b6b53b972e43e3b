// The static allow-list from the config file: the first policy engine, until Cedar replaces it behind the same port.
import { createHash } from "node:crypto";
import type { EntitlementSpec } from "../connectors/index.js";
import type { Decision } from "../domain/index.js";
import {
  ADMIN_GROUP,
  type DecisionInput,
  describeResource,
  type PolicyAction,
  type PolicyDecider,
  PRIVILEGED_ACTIONS,
} from "./decider.js";

/** One rule of the static allow-list (`access:` in the config): who may have which entitlements, for how long. */
export interface AccessRule {
  readonly index: number;
  readonly identities: readonly string[];
  readonly groups: readonly string[];
  /** "target/entitlement" or "target/*". */
  readonly entitlements: readonly string[];
  readonly maxDurationSeconds: number | null;
}

function ruleMatches(rule: AccessRule, input: DecisionInput, entitlement: EntitlementSpec): boolean {
  const who = rule.identities.includes(input.identity.id) || input.identity.groups.some((g) => rule.groups.includes(g));
  if (!who) return false;
  const target = entitlement.targetId;
  return rule.entitlements.some((e) => e === entitlement.name || e === `${target}/*`);
}

const privileged: readonly PolicyAction[] = PRIVILEGED_ACTIONS.filter((a) => a !== "review");

export class AllowListDecider implements PolicyDecider {
  readonly version: string;

  constructor(private readonly rules: readonly AccessRule[]) {
    this.version = `allow-list:${createHash("sha256").update(JSON.stringify(rules)).digest("hex").slice(0, 12)}`;
  }

  decide(input: DecisionInput): Decision {
    if (input.identity.status !== "active") {
      return deny(`identity '${input.identity.id}' is ${input.identity.status}`);
    }
    // The privileged actions (but review, which follows approve) go to the admin group, as Cedar's built-in rules do.
    if (privileged.includes(input.action)) {
      if (!input.identity.groups.includes(ADMIN_GROUP)) {
        return deny(
          `the access allow-list lets only group '${ADMIN_GROUP}' ${input.action} ${describeResource(input.resource)}`,
        );
      }
      const rule = `access.${ADMIN_GROUP}`;
      return { ...allow(rule, null), policyVersion: this.version };
    }
    // Otherwise the allow-list only says who may request (and renew): approval and break-glass need Cedar policies.
    if ((input.action !== "request" && input.action !== "renew") || input.resource.type !== "Entitlement") {
      return deny(`the access allow-list does not grant '${input.action}'; use Cedar policies for it`);
    }
    const entitlement = input.resource.entitlement;
    const matching = this.rules.filter((rule) => ruleMatches(rule, input, entitlement));
    if (matching.length === 0) {
      return deny(`no access rule lets '${input.identity.id}' ${input.action} '${entitlement.name}'`);
    }
    // Where several rules match, the shortest maximum wins (DESIGN §3: the strictest limit applies).
    const limits = matching.map((r) => r.maxDurationSeconds).filter((m): m is number => m !== null);
    const maxDurationSeconds = Math.min(entitlement.maxDurationSeconds, ...limits);
    return {
      outcome: "allow",
      approval: "auto",
      determiningPolicies: matching.map((r) => `access.${r.index}`),
      reason: `allowed by ${matching.map((r) => `access.${r.index}`).join(", ")}`,
      maxDurationSeconds,
      policyVersion: this.version,
    };
  }
}

function allow(rule: string, maxDurationSeconds: number | null): Decision {
  return {
    outcome: "allow",
    approval: "auto",
    determiningPolicies: [rule],
    reason: `allowed by ${rule}`,
    maxDurationSeconds,
  };
}

function deny(reason: string): Decision {
  return { outcome: "deny", approval: "auto", determiningPolicies: [], reason, maxDurationSeconds: null };
}
