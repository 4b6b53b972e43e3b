// Public surface of the configuration module.
export type { AccessRule } from "../policy/index.js";
export type {
  Config,
  ConfiguredIdentity,
  NotificationEvent,
  RateLimit,
  RateLimits,
  SignInConfig,
  TargetConfig,
  WebhookConfig,
} from "./load.js";
export { buildConfig, ConfigError, loadConfigFile } from "./load.js";
export type { RawConfig } from "./schema.js";
