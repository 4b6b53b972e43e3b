// The http connector's public surface: the factory and the types of its parsed settings.
export { createHttpConnector } from "./http-connector.js";
export type { CallSpec, CheckReading, CheckSpec, HttpTargetSettings, ListSpec, Method } from "./settings.js";
export { parseEntitlementSettings, parseTargetSettings } from "./settings.js";
