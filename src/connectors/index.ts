// The connectors' public surface: the port, the catalogue, and the token authority the broker builds once.
export type {
  AccountInfo,
  Connector,
  EntitlementSpec,
  IssuedCredential,
  IssueRequest,
  IssueResponse,
  PrepareRequest,
  RenewRequest,
  RenewResponse,
  RevokeRequest,
  RevokeResponse,
  RotateResponse,
  UsageSighting,
  VerifyRequest,
  VerifyResponse,
} from "./connector.js";
export type { ConnectorContext, ConnectorFactory, FactoryContext, TargetSpec } from "./context.js";
export { CONNECTOR_TYPES, createConnector } from "./registry.js";
export type {
  AccessTokenClaims,
  IntrospectionResponse,
  JsonWebKeySet,
  PublishedJwk,
  SignedToken,
  TokenAuthorityOptions,
  TokenClaimsInput,
  TokenRejection,
} from "./token/index.js";
export { createTokenConnector, TokenAuthority, TokenVerificationError } from "./token/index.js";
