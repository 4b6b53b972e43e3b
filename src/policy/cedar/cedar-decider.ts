// The Cedar implementation of the policy port: a sound slice of the policy set, preparsed, asked with only the
// entities the request needs; annotations of the permitting policies give approval, maximum and flags.
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import type { Decision } from "../../domain/index.js";
import type { DecisionInput, PolicyDecider } from "../decider.js";
import { strictest } from "./annotations.js";
import type { CompiledPolicy, CompiledPolicySet } from "./policy-set.js";
import { buildCedarRequest, type Needs, needsOf } from "./request-shape.js";
import { scopeMatches, subject } from "./scope.js";
import { preparsedSlice } from "./slice-cache.js";

interface Slice {
  /** Identifies the slice's policy texts: the set's version and the policy ids. */
  readonly key: string;
  readonly policies: readonly CompiledPolicy[];
  /** What the slice's policies read, so nothing else is passed to the engine. */
  readonly needs: Needs;
}

export class CedarDecider implements PolicyDecider {
  readonly version: string;
  readonly #policies: readonly CompiledPolicy[];
  readonly #byId: ReadonlyMap<string, CompiledPolicy>;
  /** Slices already worked out, by principal and groups, action and resource: most calls repeat a few shapes. */
  readonly #slices = new Map<string, Slice>();

  constructor(readonly set: CompiledPolicySet) {
    this.version = set.version;
    this.#policies = set.policies;
    this.#byId = new Map(set.policies.map((p) => [p.id, p]));
  }

  /** The policies whose scope can match this request, in set order. */
  slice(input: DecisionInput): CompiledPolicy[] {
    const principal = subject(
      "Identity",
      input.identity.id,
      input.identity.groups.map((g) => ({ type: "Group", id: g })),
    );
    const resource = subject("Entitlement", input.entitlement.name, [
      { type: "Target", id: input.entitlement.targetId },
    ]);
    return this.#policies.filter((p) => scopeMatches(p.scope, principal, input.action, resource));
  }

  decide(input: DecisionInput): Decision {
    if (input.identity.status !== "active") {
      return this.#deny([], `identity '${input.identity.id}' is ${input.identity.status}`);
    }
    const { key, policies: slice, needs } = this.#sliceOf(input);
    if (!slice.some((p) => p.effect === "permit")) {
      return this.#deny([], this.#nothingPermits(input));
    }
    const setId = preparsedSlice(key, () => Object.fromEntries(slice.map((p) => [p.id, p.text])));
    const request = buildCedarRequest(input, needs);
    const answer = cedar.statefulIsAuthorized({ ...request, preparsedPolicySetId: setId, validateRequest: false });
    if (answer.type === "failure") {
      // Cedar could not evaluate at all: fail closed, with the reason for the audit record.
      return this.#deny([], `policy evaluation failed: ${answer.errors.map((e) => e.message).join("; ")}`);
    }
    const { decision, diagnostics } = answer.response;
    const determining = diagnostics.reason;
    const errored = diagnostics.errors.map((e) => e.policyId);
    if (decision === "deny") {
      const why =
        determining.length > 0
          ? `forbidden by ${determining.join(", ")}`
          : this.#nothingPermits(input) + (errored.length > 0 ? ` (evaluation errors in ${errored.join(", ")})` : "");
      return this.#deny(determining, why);
    }
    const permits = determining.map((id) => this.#byId.get(id)).filter((p): p is CompiledPolicy => p !== undefined);
    // A `@flag` policy marks a decision; it never grants by itself, so a flagging rule cannot widen access.
    if (!permits.some((p) => p.terms.flag === null)) {
      return this.#deny(
        [],
        `${this.#nothingPermits(input)} (only flagging policies matched: ${determining.join(", ")})`,
      );
    }
    const terms = strictest(permits.map((p) => p.terms));
    const maxDurationSeconds = Math.min(
      input.entitlement.maxDurationSeconds,
      terms.maxDurationSeconds ?? Number.POSITIVE_INFINITY,
    );
    return {
      outcome: "allow",
      approval: terms.approvers.length === 0 ? "auto" : "required",
      approvers: terms.approvers,
      ownerMayApprove: terms.ownerMayApprove,
      flags: terms.flags,
      determiningPolicies: determining,
      reason: `permitted by ${determining.join(", ")}`,
      maxDurationSeconds,
      policyVersion: this.version,
    };
  }

  #sliceOf(input: DecisionInput): Slice {
    const shape = `${input.action}|${input.entitlement.name}|${input.entitlement.targetId}|${input.identity.id}|${input.identity.groups.join(",")}`;
    let found = this.#slices.get(shape);
    if (found === undefined) {
      const policies = this.slice(input);
      found = {
        key: `${this.version}|${policies.map((p) => p.id).join("\n")}`,
        policies,
        needs: needsOf(policies.map((p) => p.text)),
      };
      // Bounded: a broker with more shapes than this simply works them out again.
      if (this.#slices.size >= 4096) this.#slices.clear();
      this.#slices.set(shape, found);
    }
    return found;
  }

  #nothingPermits(input: DecisionInput): string {
    return `no policy permits '${input.identity.id}' to ${input.action} '${input.entitlement.name}'`;
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
