// Public surface of identity: the authenticator port and catalogue, the chain, API keys, DPoP proofs, trust rules, people's sign-in and the dev issuer.
export type { ApiKeyEntry, NewApiKey } from "./api-keys.js";
export { API_KEY_PREFIX, ApiKeyAuthenticator, generateApiKey, hashApiKey, parseApiKey } from "./api-keys.js";
export { AuthenticatorChain } from "./authenticate.js";
export type { AuthenticationFacts, Authenticator, AuthResult, PeerCertificate, Presented } from "./authenticator.js";
export type { AuthenticatorConfig, AuthenticatorDeps, AuthenticatorTypeName } from "./catalogue.js";
export { AUTHENTICATOR_TYPES, createAuthenticator, parseAuthenticators } from "./catalogue.js";
export type { DevIssuerKey, MintOptions, RunningDevIssuer } from "./dev-issuer/dev-issuer.js";
export { loadOrCreateDevIssuerKey, mintDevToken, serveDevIssuer } from "./dev-issuer/dev-issuer.js";
export type { DpopRejection, ProofExpectations, VerifiedProof } from "./dpop.js";
export { accessTokenHash, checkTokenBinding, DPOP_WINDOW_SECONDS, DpopError, verifyDpopProof } from "./dpop.js";
export type { WorkloadJwtRejection } from "./jwt/verify-workload-jwt.js";
export { KeysUnavailableError, WorkloadJwtError } from "./jwt/verify-workload-jwt.js";
export type { ClaimNames, Person } from "./people/claims-mapping.js";
export type { ProviderMetadata } from "./people/discovery.js";
export type { Audience, PersonAdmission, PersonRefusal, PersonSignInDeps } from "./people/person-sign-in.js";
export { PersonSignIn } from "./people/person-sign-in.js";
export type { OidcSignInSettings } from "./people/settings.js";
export { OIDC_CALLBACK_PATH, parseOidcSignInSettings } from "./people/settings.js";
export type { StoredPersonSession } from "./person-sessions.js";
export {
  hashPersonSession,
  newPersonSessionToken,
  PERSON_SESSION_METHOD,
  PERSON_SESSION_PREFIX,
  PersonSessionAuthenticator,
  personSessions,
} from "./person-sessions.js";
export type { IdentityDefinition, RegistryOptions } from "./registry.js";
export { IdentityRegistry } from "./registry.js";
export type { SpiffeId } from "./spiffe/spiffe-id.js";
export { isTrustDomain, parseSpiffeId } from "./spiffe/spiffe-id.js";
export type { TrustRule } from "./trust-rules.js";
