// The PostgreSQL connectors' public surface: a short-lived login role per grant, and temporary role elevation.
export { createPostgresElevationConnector } from "./elevation-connector.js";
export { createPostgresConnector } from "./postgres-connector.js";
export { DEFAULT_SCRAM_ITERATIONS, scramVerifier, scramVerifierMatches } from "./scram.js";
export type {
  ElevationEntitlementSettings,
  ElevationTargetSettings,
  PgEndpoint,
  PostgresEntitlementSettings,
  PostgresTargetSettings,
} from "./settings.js";
