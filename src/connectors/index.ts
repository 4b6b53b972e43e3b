// The connectors' public surface: the port, what a connector is built from, and the catalogue.
export type {
  AccountInfo,
  Connector,
  CredentialBinding,
  EntitlementSpec,
  InStoreRemoval,
  IssuedCredential,
  IssueRequest,
  IssueResponse,
  PrepareRequest,
  RenewRequest,
  RenewResponse,
  RevokedSerial,
  RevokeRequest,
  RevokeResponse,
  RotateResponse,
  UsageSighting,
  VerifyRequest,
  VerifyResponse,
  X509Publisher,
} from "./connector.js";
export { usageObservationOf } from "./connector.js";
export type { ConnectorContext, ConnectorFactory, FactoryContext, TargetSpec } from "./context.js";
export { CONNECTOR_TYPES, createConnector } from "./registry.js";
export { createTokenConnector } from "./token/index.js";
