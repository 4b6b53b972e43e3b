// The `rabbitmq` connector's public surface: the factory and its settings' types.
export { createRabbitmqConnector } from "./rabbitmq-connector.js";
export type { GrantableTag, RabbitmqEntitlementSettings, RabbitmqTargetSettings } from "./settings.js";
export { GRANTABLE_TAGS } from "./settings.js";
