// The token connector's public surface: the connector factory, the port it signs through, and its settings.
export type { TokenEntitlementSettings, TokenTargetSettings } from "./settings.js";
export type { TokenConnectorContext, TokenSigner } from "./token-connector.js";
export { createTokenConnector } from "./token-connector.js";
