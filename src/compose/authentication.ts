// How callers prove who they are: the configured workload authenticators in order, then API keys.

import type { ApiKeyEntry, IdentityRegistry } from "../identity/index.js";
import { ApiKeyAuthenticator, AuthenticatorChain, createAuthenticator } from "../identity/index.js";
import type { CredentialCheck } from "../lifecycle/index.js";
import { bootstrapKeyLookup } from "./bootstrap.js";
import type { StartContext } from "./start-context.js";

export interface Authentication {
  readonly chain: AuthenticatorChain;
  /** Whether a console session's credential still admits its identity (an API key not revoked since sign-in). */
  readonly credentialValid: CredentialCheck;
}

/**
 * Workload authenticators first, in configured order; API keys (for development) last: the configured ones and the
 * bootstrap keys (null without the bootstrap option). None fetches anything at start: an issuer's keys are fetched
 * when its first token arrives.
 */
export function buildAuthentication(
  ctx: StartContext,
  identities: IdentityRegistry,
  bootstrapKeys: readonly ApiKeyEntry[] | null,
): Authentication {
  const { config, store, clock, logger, shared } = ctx;
  const keyEntries = [...config.identities.values()].flatMap((identity) =>
    identity.apiKeys.map((k) => ({ keyId: k.id, identityId: identity.id, hash: k.hash })),
  );
  const apiKeys = new ApiKeyAuthenticator(
    [...keyEntries, ...(bootstrapKeys ?? [])],
    (id) => identities.get(id),
    // With replicas each one's bootstrap keys are in the shared store: a key another replica wrote is accepted too.
    bootstrapKeys && shared ? bootstrapKeyLookup(config, store) : undefined,
  );
  const authenticators = config.authenticators.map((a) =>
    createAuthenticator(a, { registry: identities, clock, logger: logger.child({ authenticator: a.name }) }),
  );
  return {
    chain: new AuthenticatorChain([...authenticators, apiKeys]),
    credentialValid: async (method, credentialId, identityId) =>
      method === "api_key" && (await apiKeys.admits(credentialId, identityId)),
  };
}
