// The library's public surface: embed the broker, or use its client, config and domain types from TypeScript.
export type { AuditCode } from "./audit/index.js";
export { AUDIT_CODES, verifyChain, verifyStoreChain } from "./audit/index.js";
export type { Config } from "./config/index.js";
export { buildConfig, ConfigError, loadConfigFile } from "./config/index.js";
export type { Connector, ConnectorFactory, EntitlementSpec } from "./connectors/index.js";
export { CONNECTOR_TYPES } from "./connectors/index.js";
export type { AccessRequest, AuditEvent, Grant, GrantState, Identity } from "./domain/index.js";
export { GRANT_TRANSITIONS, grantIssued, openGrant, parseDuration, REQUEST_TRANSITIONS } from "./domain/index.js";
export {
  AUTHENTICATOR_TYPES,
  accessTokenHash,
  checkTokenBinding,
  DpopError,
  generateApiKey,
  hashApiKey,
  verifyDpopProof,
} from "./identity/index.js";
export type { Broker, StartOptions } from "./main.js";
export { startBroker } from "./main.js";
export type { Store } from "./storage/index.js";
export { openSqliteStore } from "./storage/index.js";
export { EphemeraError, ERROR_CATALOGUE } from "./support/errors.js";
export { TokenAuthority } from "./tokens/index.js";
