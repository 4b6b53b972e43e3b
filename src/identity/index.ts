// Public surface of identity: the authenticator port, the chain and API keys.
export type { ApiKeyEntry, NewApiKey } from "./api-keys.js";
export { API_KEY_PREFIX, ApiKeyAuthenticator, generateApiKey, hashApiKey, parseApiKey } from "./api-keys.js";
export { AuthenticatorChain } from "./authenticate.js";
export type { AuthenticationFacts, Authenticator, AuthResult, Presented } from "./authenticator.js";
export type { IdentityDefinition, RegistryOptions } from "./registry.js";
export { IdentityRegistry } from "./registry.js";
