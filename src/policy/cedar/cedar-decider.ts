// The Cedar implementation of the policy port: a sound slice of the policy set, preparsed, asked with only the
// entities the request needs; annotations of the permitting policies give approval, maximum and flags.
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import type { Decision } from "../../domain/index.js";
import {
  BROKER_ID,
  type DecisionInput,
  describeResource,
  type PolicyDecider,
  type PolicyResource,
} from "../decider.js";
import { strictest } from "./annotations.js";
import { builtInPolicies, namedActions } from "./built-in.js";
import type { CompiledPolicy, CompiledPolicySet } from "./policy-set.js";
import { buildCedarRequest, type Needs, needsOf } from "./request-shape.js";
import { type ScopeSubject, scopeMatches, subject } from "./scope.js";
import { preparsedSlice } from "./slice-cache.js";

/** Policies of a slice that read the time in one zone: Cedar is asked once per zone, each with its own wall clock. */
interface ZonePart {
  /** Identifies the part's policy texts: the set's version and the policy ids. */
  readonly key: string;
  readonly policies: readonly CompiledPolicy[];
  /** What the part's policies read, so nothing else is passed to the engine. */
  readonly needs: Needs;
  readonly timeZone: string | null;
}

interface Slice {
  readonly parts: readonly ZonePart[];
  readonly permits: boolean;
}

function resourceSubject(resource: PolicyResource): ScopeSubject {
  switch (resource.type) {
    case "Entitlement":
      return subject("Entitlement", resource.entitlement.name, [{ type: "Target", id: resource.entitlement.targetId }]);
    case "Identity":
      return subject(
        "Identity",
        resource.identity.id,
        resource.identity.groups.map((g) => ({ type: "Group", id: g })),
      );
    case "Target":
      return subject("Target", resource.id, []);
    case "Broker":
      return subject("Broker", BROKER_ID, []);
  }
}

export class CedarDecider implements PolicyDecider {
  readonly version: string;
  readonly #policies: readonly CompiledPolicy[];
  readonly #byId: ReadonlyMap<string, CompiledPolicy>;
  /** Actions some permit names; a privileged action none names is decided by the built-in rule (built-in.ts). */
  readonly #named: ReadonlySet<string>;
  /** Slices already worked out, by principal and groups, action and resource: most calls repeat a few shapes. */
  readonly #slices = new Map<string, Slice>();

  constructor(readonly set: CompiledPolicySet) {
    this.version = set.version;
    this.#named = namedActions(set.policies);
    this.#policies = [...set.policies, ...builtInPolicies(this.#named)];
    this.#byId = new Map(this.#policies.map((p) => [p.id, p]));
  }

  /** The policies whose scope can match this request, in set order (the built-in rules last). */
  slice(input: DecisionInput): CompiledPolicy[] {
    const principal = subject(
      "Identity",
      input.identity.id,
      input.identity.groups.map((g) => ({ type: "Group", id: g })),
    );
    const resource = resourceSubject(input.resource);
    return this.#policies.filter((p) => scopeMatches(p.scope, principal, input.action, resource));
  }

  decide(input: DecisionInput): Decision {
    if (input.identity.status !== "active") {
      return this.#deny([], `identity '${input.identity.id}' is ${input.identity.status}`);
    }
    if (input.action === "review" && !this.#named.has("review")) {
      // No policy speaks of review: whoever may approve the request may review it, as before review had its own action.
      return this.decide({ ...input, action: "approve" });
    }
    const slice = this.#sliceOf(input);
    if (!slice.permits) return this.#deny([], this.#nothingPermits(input));
    const permitting: string[] = [];
    const forbidding: string[] = [];
    const errored: string[] = [];
    for (const part of slice.parts) {
      const setId = preparsedSlice(part.key, () => Object.fromEntries(part.policies.map((p) => [p.id, p.text])));
      const request = buildCedarRequest(input, part.needs, part.timeZone);
      const answer = cedar.statefulIsAuthorized({ ...request, preparsedPolicySetId: setId, validateRequest: false });
      if (answer.type === "failure") {
        // Cedar could not evaluate at all: fail closed, with the reason for the audit record.
        return this.#deny([], `policy evaluation failed: ${answer.errors.map((e) => e.message).join("; ")}`);
      }
      const { decision, diagnostics } = answer.response;
      errored.push(...diagnostics.errors.map((e) => e.policyId));
      // Within a part Cedar names the forbids when it denies by one, and the permits when it allows.
      (decision === "deny" ? forbidding : permitting).push(...diagnostics.reason);
    }
    if (forbidding.length > 0) return this.#deny(forbidding, `forbidden by ${forbidding.join(", ")}`);
    if (permitting.length === 0) {
      const why = errored.length > 0 ? ` (evaluation errors in ${errored.join(", ")})` : "";
      return this.#deny([], this.#nothingPermits(input) + why);
    }
    const permits = permitting.map((id) => this.#byId.get(id)).filter((p): p is CompiledPolicy => p !== undefined);
    // A `@flag` policy marks a decision; it never grants by itself, so a flagging rule cannot widen access.
    if (!permits.some((p) => p.terms.flag === null)) {
      return this.#deny(
        [],
        `${this.#nothingPermits(input)} (only flagging policies matched: ${permitting.join(", ")})`,
      );
    }
    const terms = strictest(permits.map((p) => p.terms));
    const ceiling =
      input.resource.type === "Entitlement" ? input.resource.entitlement.maxDurationSeconds : Number.POSITIVE_INFINITY;
    const max = Math.min(ceiling, terms.maxDurationSeconds ?? Number.POSITIVE_INFINITY);
    return {
      outcome: "allow",
      approval: terms.approvers.length === 0 ? "auto" : "required",
      approvers: terms.approvers,
      ownerMayApprove: terms.ownerMayApprove,
      flags: terms.flags,
      determiningPolicies: permitting,
      reason: `permitted by ${permitting.join(", ")}`,
      maxDurationSeconds: Number.isFinite(max) ? max : null,
      policyVersion: this.version,
    };
  }

  #sliceOf(input: DecisionInput): Slice {
    const r = resourceSubject(input.resource);
    const shape = `${input.action}|${[...r.ancestors].join(",")}|${input.identity.id}|${input.identity.groups.join(",")}`;
    let found = this.#slices.get(shape);
    if (found === undefined) {
      const policies = this.slice(input);
      const zones = new Map<string | null, CompiledPolicy[]>();
      for (const p of policies) {
        const list = zones.get(p.terms.timeZone);
        if (list === undefined) zones.set(p.terms.timeZone, [p]);
        else list.push(p);
      }
      found = {
        permits: policies.some((p) => p.effect === "permit"),
        parts: [...zones].map(([timeZone, part]) => ({
          key: `${this.version}|${part.map((p) => p.id).join("\n")}`,
          policies: part,
          needs: needsOf(part.map((p) => p.text)),
          timeZone,
        })),
      };
      // Bounded: a broker with more shapes than this simply works them out again.
      if (this.#slices.size >= 4096) this.#slices.clear();
      this.#slices.set(shape, found);
    }
    return found;
  }

  #nothingPermits(input: DecisionInput): string {
    return `no policy permits '${input.identity.id}' to ${input.action} ${describeResource(input.resource)}`;
  }

  #deny(determining: readonly string[], reason: string): Decision {
    return {
      outcome: "deny",
      approval: "auto",
      determiningPolicies: determining,
      reason,
      maxDurationSeconds: null,
      policyVersion: this.version,
    };
  }
}
