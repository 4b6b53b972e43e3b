// How callers prove who they are: the configured workload authenticators in order, then API keys.

import type { ApiKeyEntry, IdentityRegistry } from "../identity/index.js";
import {
  ApiKeyAuthenticator,
  AuthenticatorChain,
  createAuthenticator,
  PersonSessionAuthenticator,
  PersonSignIn,
} from "../identity/index.js";
import { type CredentialCheck, OIDC_METHOD } from "../lifecycle/index.js";
import { bootstrapKeyLookup } from "./bootstrap.js";
import type { StartContext } from "./start-context.js";

export interface Authentication {
  readonly chain: AuthenticatorChain;
  /** Whether a console session's credential still admits its identity (an API key not revoked since sign-in). */
  readonly credentialValid: CredentialCheck;
  /** People's sign-in with the company's identity provider; null when `console.signIn.oidc` is not set. */
  readonly personSignIn: PersonSignIn | null;
}

/**
 * Workload authenticators first, in configured order; then people's command-line sessions; API keys (for development)
 * last: the configured ones and the bootstrap keys (null without the bootstrap option). None fetches anything at
 * start: an issuer's keys (and the sign-in provider's discovery document) are fetched when first needed.
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
  const oidc = config.console.signIn.oidc;
  const personSignIn = oidc
    ? new PersonSignIn(oidc, { registry: identities, clock, logger: logger.child({ signIn: "oidc" }) })
    : null;
  // Command-line sessions are honoured while people's sign-in is configured: removing it ends them too.
  const personSessions = personSignIn ? [new PersonSessionAuthenticator(store, clock, (id) => identities.get(id))] : [];
  const apiKeySignIn = config.console.signIn.apiKey;
  return {
    chain: new AuthenticatorChain([...authenticators, ...personSessions, apiKeys]),
    // A console session lives while its way of signing in is still configured: turning API-key sign-in off (or OIDC
    // sign-in off) ends the sessions it opened; an API key removed since ends its own.
    credentialValid: async (method, credentialId, identityId) => {
      if (method === OIDC_METHOD) return personSignIn !== null;
      return method === "api_key" && apiKeySignIn && (await apiKeys.admits(credentialId, identityId));
    },
    personSignIn,
  };
}
