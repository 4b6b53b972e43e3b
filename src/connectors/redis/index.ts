// The Redis connector's public surface: the factory, its settings types and the admin rotation steps.
export { adminRotationSteps } from "./admin-rotation.js";
export { createRedisConnector } from "./redis-connector.js";
export type { RedisEntitlementSettings, RedisTargetSettings } from "./settings.js";
