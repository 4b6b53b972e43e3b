// The x509 connector's public surface: the factory and what it publishes for relying parties.
export { CRL_VALIDITY_MS } from "./revocations.js";
export type { KeyAlgorithm, X509EntitlementSettings, X509TargetSettings } from "./settings.js";
export type { X509Connector } from "./x509-connector.js";
export { createX509Connector } from "./x509-connector.js";
