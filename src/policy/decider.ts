// The policy port: who may do what on which entitlement, decided at request time. Cedar and the allow-list implement it.
import type { EntitlementSpec } from "../connectors/index.js";
import type { ClientSignal, Decision, Identity, Intent, Millis } from "../domain/index.js";

/** The actions of the policy schema (DESIGN §3). */
export const POLICY_ACTIONS = ["request", "approve", "renew", "break_glass", "revoke", "admin"] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

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
  /** For `approve` (and `revoke` of another's grant): the identity whose request or grant it is. */
  readonly requester?: Identity | null;
}

export interface DecisionInput {
  readonly identity: Identity;
  readonly action: PolicyAction;
  readonly entitlement: EntitlementSpec;
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
