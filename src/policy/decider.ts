// The policy port: who may do what on which entitlement, decided at request time. Cedar and the allow-list implement it.
import type { EntitlementSpec } from "../connectors/index.js";
import type { ClientSignal, Decision, Identity, Intent, Millis } from "../domain/index.js";

/** The actions of the policy schema (DESIGN §3, docs/writing-policies.md "The actions"). */
export const POLICY_ACTIONS = [
  "request",
  "approve",
  "renew",
  "break_glass",
  "revoke",
  "review",
  "offboard",
  "reactivate",
  "discover",
  "rotate",
  "read_audit",
  "export_audit",
  "admin",
] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/**
 * What each action is asked about. An entitlement (in its target) for the request path and what is done to a grant or
 * request; the identity acted on; the target whose accounts or admin secret it is; the broker itself for the rest.
 */
export const ACTION_RESOURCES = {
  request: "Entitlement",
  approve: "Entitlement",
  renew: "Entitlement",
  break_glass: "Entitlement",
  revoke: "Entitlement",
  review: "Entitlement",
  offboard: "Identity",
  reactivate: "Identity",
  discover: "Target",
  rotate: "Target",
  read_audit: "Broker",
  export_audit: "Broker",
  admin: "Broker",
} as const satisfies Record<PolicyAction, PolicyResource["type"]>;

/**
 * The actions that act for others or on the broker. A policy set that never names one of them gets the built-in rule
 * for it (members of `ADMIN_GROUP` may; `review` falls back to `approve`), so an older policy folder keeps its admins.
 */
export const PRIVILEGED_ACTIONS = [
  "revoke",
  "review",
  "offboard",
  "reactivate",
  "discover",
  "rotate",
  "read_audit",
  "export_audit",
  "admin",
] as const satisfies readonly PolicyAction[];
export type PrivilegedAction = (typeof PRIVILEGED_ACTIONS)[number];

export { ADMIN_GROUP } from "../domain/index.js";

/** The one `Broker` entity: the resource of `read_audit`, `export_audit` and `admin`. */
export const BROKER_ID = "ephemera";

/** What a decision is about; its `type` is the Cedar entity type of `resource`. */
export type PolicyResource =
  | { readonly type: "Entitlement"; readonly entitlement: EntitlementSpec }
  | { readonly type: "Identity"; readonly identity: Identity }
  | { readonly type: "Target"; readonly id: string }
  | { readonly type: "Broker" };

/** A readable name of a resource for reasons and refusals: `'orders-db/read'`, `identity 'x'`, `target 'y'`. */
export function describeResource(resource: PolicyResource): string {
  switch (resource.type) {
    case "Entitlement":
      return `'${resource.entitlement.name}'`;
    case "Identity":
      return `identity '${resource.identity.id}'`;
    case "Target":
      return `target '${resource.id}'`;
    case "Broker":
      return "the broker";
  }
}

export interface DecisionContext {
  readonly justification: string | null;
  readonly ticket: string | null;
  readonly intent: Intent | null;
  readonly sourceAddress: string | null;
  /** How the caller authenticated (`api_key`, `oidc`…); null outside HTTP. */
  readonly authMethod: string | null;
  /** Verified workload claims from the authenticator (empty for API keys). */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Whether a person drives the call (CLI on a terminal, browser); absent means a plain API client. */
  readonly client?: ClientSignal;
  readonly breakGlass?: boolean;
  /** For `approve`, `review` and `revoke`: the identity whose request or grant it is. */
  readonly requester?: Identity | null;
}

export interface DecisionInput {
  readonly identity: Identity;
  readonly action: PolicyAction;
  /** Must be of the type `ACTION_RESOURCES` names for the action. */
  readonly resource: PolicyResource;
  /** The duration asked for; 0 for actions that are not about a grant's length. */
  readonly durationSeconds: number;
  readonly context: DecisionContext;
  /** When the decision is made (time of day, weekday); the decider reads no clock. Defaults to 0 when absent. */
  readonly at?: Millis;
}

export interface PolicyDecider {
  decide(input: DecisionInput): Decision;
  /** A label of the policy set in force, recorded with each decision. */
  readonly version: string;
}

/** A decider whose policy set can be swapped while the broker runs; the lifecycle always asks the current one. */
export class SwappableDecider implements PolicyDecider {
  #current: PolicyDecider;

  constructor(initial: PolicyDecider) {
    this.#current = initial;
  }

  get version(): string {
    return this.#current.version;
  }

  get current(): PolicyDecider {
    return this.#current;
  }

  swap(next: PolicyDecider): void {
    this.#current = next;
  }

  decide(input: DecisionInput): Decision {
    return this.#current.decide(input);
  }
}
