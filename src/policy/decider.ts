// The policy port: who may do what on which entitlement, decided at request time. Cedar will implement it later.
import type { EntitlementSpec } from "../connectors/connector.js";
import type { Decision, Identity } from "../domain/types.js";

export type PolicyAction = "request" | "renew";

export interface DecisionInput {
  readonly identity: Identity;
  readonly action: PolicyAction;
  readonly entitlement: EntitlementSpec;
  readonly durationSeconds: number;
  readonly context: {
    readonly justification: string | null;
    readonly ticket: string | null;
    readonly intent: string | null;
    readonly sourceAddress: string | null;
    /** How the caller authenticated (`api_key`, `oidc`…); null outside HTTP. */
    readonly authMethod: string | null;
    /** Verified workload claims from the authenticator (empty for API keys). */
    readonly claims: Readonly<Record<string, unknown>>;
  };
}

export interface PolicyDecider {
  decide(input: DecisionInput): Decision;
  /** A label of the policy set in force, recorded with each decision. */
  readonly version: string;
}
