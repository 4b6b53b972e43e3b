// Reads, validates and freezes the configuration file; the only place that reads the environment and config files.
// Each section is parsed by its own module (server-config.ts, target-config.ts…); defaults live in defaults.ts.
import { readFileSync } from "node:fs";
import Value from "typebox/value";
import { parse as parseYaml } from "yaml";
import { type AuthenticatorConfig, parseAuthenticators } from "../identity/index.js";
import type { AccessRule } from "../policy/index.js";
import { accessRules, type PoliciesConfig, policiesConfig } from "./access-config.js";
import { type AuditConfig, auditConfig } from "./audit-config.js";
import { DEFAULTS } from "./defaults.js";
import {
  type BootstrapConfig,
  bootstrapConfig,
  type ConfiguredIdentity,
  type IdentityLifecycleConfig,
  identitiesConfig,
  identityLifecycleConfig,
} from "./identity-config.js";
import {
  type ApprovalsConfig,
  approvalsConfig,
  type LifecycleConfig,
  lifecycleConfig,
  type RetentionConfig,
  retentionConfig,
} from "./lifecycle-config.js";
import { type NotificationsConfig, notificationsConfig, webhooksConfig } from "./notification-config.js";
import { configReader } from "./reader.js";
import { ConfigSchema, type RawConfig } from "./schema.js";
import { consoleIdleMs, listenAddress, rateLimits, type ServerConfig, serverTls } from "./server-config.js";
import { type SignInConfig, signInConfig } from "./sign-in-config.js";
import { type SecretsConfig, type StorageConfig, secretsConfig, storageConfig } from "./storage-config.js";
import { type TargetConfig, targetsConfig } from "./target-config.js";

export type { AccessRule } from "../policy/index.js";
export type { ConfiguredIdentity } from "./identity-config.js";
export type { NotificationEvent, WebhookConfig } from "./notification-config.js";
export type { RateLimit, RateLimits } from "./server-config.js";
export type { SignInConfig } from "./sign-in-config.js";
export type { PostgresStorageConfig } from "./storage-config.js";
export type { TargetConfig } from "./target-config.js";

export interface Config {
  readonly dataDir: string;
  readonly server: ServerConfig;
  readonly storage: StorageConfig;
  readonly secrets: SecretsConfig;
  readonly logLevel: string;
  readonly tokens: { readonly issuer: string; readonly rotationIntervalSeconds: number };
  readonly lifecycle: LifecycleConfig;
  readonly identities: ReadonlyMap<string, ConfiguredIdentity>;
  /** How workloads authenticate besides API keys, in the order they are consulted. */
  readonly authenticators: readonly AuthenticatorConfig[];
  readonly targets: readonly TargetConfig[];
  /** How often the reconciler compares every target's accounts with the live grants; 0 turns the schedule off. */
  readonly reconcileIntervalMs: number;
  /** How often targets are asked which active grants are in use (`monitor.usage.interval`); 0 turns polling off. */
  readonly usageIntervalMs: number;
  readonly access: readonly AccessRule[];
  /** Cedar policies; null when the `access` allow-list (or nothing, which denies everything) decides. */
  readonly policies: PoliciesConfig | null;
  readonly approvals: ApprovalsConfig;
  readonly notifications: NotificationsConfig;
  /** Signed checkpoints, HMAC of sensitive values, the SIEM stream, retention (see docs/audit.md). */
  readonly audit: AuditConfig;
  readonly console: { readonly idleTimeoutMs: number; readonly signIn: SignInConfig };
  /** Ended grants (and their requests) older than this leave the grant tables; null (the default) keeps them forever. */
  readonly retention: RetentionConfig;
  /** Dormancy: identities unseen this long are marked dormant; null (the default) turns it off. */
  readonly identityLifecycle: IdentityLifecycleConfig;
  readonly bootstrap: BootstrapConfig | null;
}

/** The configuration is wrong; `problems` lists each one as `path: what is wrong`. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid configuration in ${source}:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(path, [`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? "error"}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ConfigError(path, [`not valid YAML: ${(error as Error).message.split("\n")[0]}`]);
  }
  return buildConfig(raw ?? {}, path, env, cwd);
}

function dotted(pointer: string): string {
  const parts = pointer
    .split("/")
    .slice(1)
    .map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));
  return parts.length === 0 ? "(top level)" : parts.join(".");
}

function schemaProblems(raw: unknown): string[] {
  const problems: string[] = [];
  for (const error of Value.Errors(ConfigSchema, raw)) {
    if (error.keyword === "boolean") continue; // reported once more by its additionalProperties error
    const path = dotted(error.instancePath);
    if (error.keyword === "additionalProperties") {
      const extra = (error.params as { additionalProperties?: string[] }).additionalProperties ?? [];
      problems.push(`${path}: unknown option${extra.length > 1 ? "s" : ""} ${extra.map((e) => `'${e}'`).join(", ")}`);
    } else if (error.keyword === "anyOf") {
      problems.push(`${path}: not one of the allowed values`);
    } else {
      problems.push(`${path}: ${error.message}`);
    }
  }
  return [...new Set(problems)];
}

/** Validates an already-parsed document; exported for tests and for embedding the broker as a library. */
export function buildConfig(raw: unknown, source: string, env: NodeJS.ProcessEnv = {}, cwd = process.cwd()): Config {
  const shape = schemaProblems(raw);
  if (shape.length > 0) throw new ConfigError(source, shape);
  const doc = raw as RawConfig;
  const r = configReader(env, cwd);
  const { problems } = r;

  // Sections are read in this order, and their problems reported in it.
  const dataDir = r.path(doc.dataDir ?? DEFAULTS.dataDir);
  const { host, port, publicUrl } = listenAddress(doc.server, r);
  const identities = identitiesConfig(doc.identities, r);
  const authenticators = parseAuthenticators((doc as { authenticators?: unknown }).authenticators, {
    identities,
    problems,
    readFile: r.readText,
  });
  const tls = serverTls(doc.server?.tls, r);
  if (authenticators.some((a) => a.type === "mtls") && !tls?.clientCa) {
    problems.push(
      "authenticators: an mtls authenticator needs server.tls.clientCa (the server must ask for client certificates)",
    );
  }
  const targets = targetsConfig(doc.targets, r);
  const access = accessRules(doc.access, targets, identities, r);
  const policies = policiesConfig(doc, r);
  const approvals = approvalsConfig(doc.approvals, r);
  const webhooks = webhooksConfig(doc.notifications?.webhooks, r);
  const bootstrap = bootstrapConfig(doc.bootstrap, identities, r);
  const storage = storageConfig(doc.storage, dataDir, r);
  const identityLifecycle = identityLifecycleConfig(doc.identityLifecycle, r);
  const retention = retentionConfig(doc.retention, r);

  const config: Config = {
    dataDir,
    server: {
      host,
      port,
      publicUrl,
      bodyLimit: doc.server?.bodyLimit ?? DEFAULTS.server.bodyLimit,
      tls,
      rateLimit: rateLimits(doc.server?.rateLimit, r),
      trustProxy: doc.server?.trustProxy ?? [],
    },
    storage,
    secrets: secretsConfig(doc.secrets, dataDir, r),
    logLevel: doc.logging?.level ?? env.EPHEMERA_LOG_LEVEL ?? DEFAULTS.logging.level,
    tokens: {
      issuer: doc.tokens?.issuer ?? publicUrl,
      rotationIntervalSeconds: r.seconds(
        doc.tokens?.rotationInterval,
        "tokens.rotationInterval",
        DEFAULTS.tokens.rotationInterval,
      ),
    },
    lifecycle: lifecycleConfig(doc.lifecycle, r),
    identities,
    authenticators,
    targets,
    reconcileIntervalMs:
      r.seconds(doc.reconciler?.interval, "reconciler.interval", DEFAULTS.reconciler.interval) * 1000,
    usageIntervalMs:
      r.seconds(doc.monitor?.usage?.interval, "monitor.usage.interval", DEFAULTS.monitor.usage.interval) * 1000,
    access,
    policies,
    approvals,
    notifications: notificationsConfig(doc.notifications, webhooks, r),
    bootstrap,
    console: {
      idleTimeoutMs: consoleIdleMs(doc.console?.idleTimeout, r),
      signIn: signInConfig(doc.console?.signIn, publicUrl, identities, r),
    },
    audit: auditConfig(doc.audit, {
      dataDir,
      path: r.path,
      seconds: r.seconds,
      secretRef: r.secretRef,
      readFile: (file, at) => {
        try {
          return readFileSync(file, "utf8").replace(/\r?\n$/, "");
        } catch (error) {
          problems.push(`${at}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
          return null;
        }
      },
      webhookNames: new Set(webhooks.map((w) => w.name)),
      problems,
    }),
    identityLifecycle,
    retention,
  };
  if (problems.length > 0) throw new ConfigError(source, problems);
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    if (value instanceof Map) for (const v of value.values()) deepFreeze(v);
    else for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
