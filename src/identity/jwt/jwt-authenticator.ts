// A bearer-JWT authenticator: route by unverified claims, verify with configured keys, map claims through trust rules.
import type { Clock } from "../../support/index.js";
import { bearer } from "../api-keys.js";
import type { Authenticator, AuthResult, Presented } from "../authenticator.js";
import type { IdentityRegistry } from "../registry.js";
import { admit, type FlatClaims, flattenClaims, type TrustRule } from "../trust-rules.js";
import {
  type KeyLookup,
  peekJwt,
  verifyWorkloadJwt,
  WorkloadJwtError,
  type WorkloadJwtRules,
} from "./verify-workload-jwt.js";

/** How one kind of workload JWT is checked: which tokens it takes, with which rules and keys, and extra claims. */
export interface JwtProfile {
  /** Authenticator type as reported to policy and audit: `oidc`, `spiffe_jwt`. */
  readonly method: string;
  /** Configured name, unique among authenticators. */
  readonly name: string;
  /**
   * Whether this authenticator decides on the token, from its unverified payload (the issuer, the SPIFFE trust domain).
   * Only a routing hint: everything is verified after.
   */
  routes(payload: Readonly<Record<string, unknown>>): boolean;
  /** Verification rules and keys for a token this profile routes; null refuses it. */
  checks(payload: Readonly<Record<string, unknown>>): { rules: WorkloadJwtRules; keys: KeyLookup } | null;
  /** Claims derived from the verified payload (the SPIFFE ID's parts), added to the flattened claims. */
  derive?(payload: Readonly<Record<string, unknown>>): FlatClaims | null;
  readonly trustRules: readonly TrustRule[];
}

export class JwtAuthenticator implements Authenticator {
  readonly type: string;

  constructor(
    private readonly profile: JwtProfile,
    private readonly registry: IdentityRegistry,
    private readonly clock: Clock,
  ) {
    this.type = profile.method;
  }

  get name(): string {
    return this.profile.name;
  }

  accepts(presented: Presented): boolean {
    const token = bearer(presented);
    if (token === undefined || token.length > 65_536) return false;
    const peeked = peekJwt(token);
    return peeked !== null && this.profile.routes(peeked.payload);
  }

  async authenticate(presented: Presented): Promise<AuthResult> {
    const token = bearer(presented);
    const peeked = token === undefined ? null : peekJwt(token);
    if (token === undefined || !peeked) return { ok: false, reason: "no workload token" };
    const checks = this.profile.checks(peeked.payload);
    if (!checks) return { ok: false, reason: `the token is not one '${this.profile.name}' accepts` };
    let verified: Awaited<ReturnType<typeof verifyWorkloadJwt>>;
    try {
      verified = await verifyWorkloadJwt(token, checks.rules, checks.keys, this.clock.now());
    } catch (error) {
      if (error instanceof WorkloadJwtError) return { ok: false, reason: error.message };
      throw error;
    }
    const derived = this.profile.derive?.(verified.payload);
    if (derived === null) return { ok: false, reason: `the token's subject is not one '${this.profile.name}' accepts` };
    const claims: FlatClaims = { ...flattenClaims(verified.payload), ...derived };
    const admission = await admit(this.registry, this.profile.trustRules, claims, this.profile.name);
    if (!admission.ok) return admission;
    return {
      ok: true,
      identity: admission.identity,
      identityVersion: admission.version,
      method: this.profile.method,
      credentialId: verified.replayKey,
      claims: { ...claims, authenticator: this.profile.name, rule: admission.rule.name },
      // Single use for issuing while the token could still pass verification: until exp plus the leeway.
      singleUse: {
        key: `${this.profile.method}:${this.profile.name}:${verified.replayKey}`,
        until: (verified.exp + checks.rules.leewaySeconds) * 1000,
      },
    };
  }
}
