// The token connector's public surface: the connector factory and the broker's token authority.
export type { RevokedEntry, RevokeInput } from "./deny-list.js";
export type { PublishedJwk } from "./key-ring.js";
export type { TokenEntitlementSettings, TokenTargetSettings } from "./settings.js";
export type {
  IntrospectionResponse,
  JsonWebKeySet,
  SignedToken,
  TokenAuthorityOptions,
  TokenClaimsInput,
} from "./token-authority.js";
export { TokenAuthority } from "./token-authority.js";
export type { TokenConnectorContext, TokenSigner } from "./token-connector.js";
export { createTokenConnector } from "./token-connector.js";
export type { AccessTokenClaims, AuthorizationDetail, TokenRejection } from "./verify-token.js";
export { TokenVerificationError } from "./verify-token.js";
