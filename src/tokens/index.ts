// The broker's own signing keys: the token authority (key ring, signer, verifier, deny-list, introspection, JWKS).
export type { RevokedEntry, RevokeInput } from "./deny-list.js";
export type { IntrospectionResponse } from "./introspection.js";
export type { JsonWebKeySet, PublishedJwk } from "./jwks.js";
export type { SignedToken, TokenClaimsInput } from "./signer.js";
export type { TokenAuthorityOptions } from "./token-authority.js";
export { TokenAuthority } from "./token-authority.js";
export type { AccessTokenClaims, AuthorizationDetail, TokenRejection } from "./verifier.js";
export { TokenVerificationError } from "./verifier.js";
