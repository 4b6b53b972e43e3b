// The static allow-list from the config file: the first policy engine, until Cedar replaces it behind the same port.
import { createHash } from "node:crypto";
import type { Decision } from "../domain/index.js";
import type { DecisionInput, PolicyDecider } from "./decider.js";

/** One rule of the static allow-list (`access:` in the config): who may have which entitlements, for how long. */
export interface AccessRule {
  readonly index: number;
  readonly identities: readonly string[];
  readonly groups: readonly string[];
  /** "target/entitlement" or "target/*". */
  readonly entitlements: readonly string[];
  readonly maxDurationSeconds: number | null;
}

function ruleMatches(rule: AccessRule, input: DecisionInput): boolean {
  const who = rule.identities.includes(input.identity.id) || input.identity.groups.some((g) => rule.groups.includes(g));
  if (!who) return false;
  const target = input.entitlement.targetId;
  return rule.entitlements.some((e) => e === input.entitlement.name || e === `${target}/*`);
}

export class AllowListDecider implements PolicyDecider {
  readonly version: string;

  constructor(private readonly rules: readonly AccessRule[]) {
    this.version = `allow-list:${createHash("sha256").update(JSON.stringify(rules)).digest("hex").slice(0, 12)}`;
  }

  decide(input: DecisionInput): Decision {
    // The allow-list only says who may request (and renew): approval, break-glass and the rest need Cedar policies.
    if (input.action !== "request" && input.action !== "renew") {
      return deny(`the access allow-list does not grant '${input.action}'; use Cedar policies for it`);
    }
    if (input.identity.status !== "active") {
      return deny(`identity '${input.identity.id}' is ${input.identity.status}`);
    }
    const matching = this.rules.filter((rule) => ruleMatches(rule, input));
    if (matching.length === 0) {
      return deny(`no access rule lets '${input.identity.id}' ${input.action} '${input.entitlement.name}'`);
    }
    // Where several rules match, the shortest maximum wins (DESIGN §3: the strictest limit applies).
    const limits = matching.map((r) => r.maxDurationSeconds).filter((m): m is number => m !== null);
    const maxDurationSeconds = Math.min(input.entitlement.maxDurationSeconds, ...limits);
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

function deny(reason: string): Decision {
  return { outcome: "deny", approval: "auto", determiningPolicies: [], reason, maxDurationSeconds: null };
}
