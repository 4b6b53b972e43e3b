// Reads, validates and freezes the configuration file; the only place that reads the environment and config files.
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import Value from "typebox/value";
import { parse as parseYaml } from "yaml";
import type { EntitlementSpec } from "../connectors/connector.js";
import type { TargetSpec } from "../connectors/context.js";
import { parseDuration } from "../domain/duration.js";
import type { Identity } from "../domain/types.js";
import { type AuthenticatorConfig, parseAuthenticators } from "../identity/catalogue.js";
import type { AccessRule } from "../policy/allow-list.js";
import { Secret } from "../support/secret.js";
import { type AuditConfig, auditConfig } from "./audit-config.js";
import { outboundUrlProblem } from "./outbound-url.js";
import { ConfigSchema, type RawConfig } from "./schema.js";

export interface ConfiguredIdentity extends Identity {
  readonly apiKeys: readonly { readonly id: string; readonly hash: string }[];
}

export interface TargetConfig extends TargetSpec {
  readonly entitlements: readonly EntitlementSpec[];
  /** How often the broker rotates this target's admin secret on its own; null when only `ephemera rotate` does. */
  readonly adminRotationSeconds: number | null;
}

export interface Config {
  readonly dataDir: string;
  readonly server: {
    readonly host: string;
    readonly port: number;
    readonly publicUrl: string;
    /** Null when turned off (`server.rateLimit: false`). */
    readonly rateLimit: RateLimits | null;
    /** Proxies whose X-Forwarded-For is believed; empty: none (the peer's address is the caller's). */
    readonly trustProxy: readonly string[];
    readonly bodyLimit: number;
    /** HTTPS material, read at load; null serves plain HTTP. */
    readonly tls: {
      readonly cert: string;
      readonly key: Secret<string>;
      /** PEM of the CAs client certificates must chain to; when set the server asks for client certificates. */
      readonly clientCa: string | null;
    } | null;
  };
  readonly storage: {
    readonly sqlitePath: string;
    /** Set when the broker runs on a shared PostgreSQL store (several replicas); SQLite is not used then. */
    readonly postgres: PostgresStorageConfig | null;
  };
  readonly secrets: { readonly masterKeyFile: string; readonly masterKeyFromEnv: string | null };
  readonly logLevel: string;
  readonly tokens: { readonly issuer: string; readonly rotationIntervalSeconds: number };
  readonly lifecycle: {
    readonly removalClaimMs: number;
    readonly retryInitialMs: number;
    readonly retryMaxMs: number;
    readonly removalConcurrency: number;
    readonly schedulerBatch: number;
    readonly pollIntervalMs: number;
  };
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
  readonly policies: {
    readonly dir: string;
    readonly watch: boolean;
    /** What happens to active grants a new policy set no longer permits. */
    readonly onChange: "revoke" | "expire";
  } | null;
  readonly approvals: {
    readonly pendingTimeoutMs: number;
    readonly collectTimeoutMs: number;
    readonly sweepIntervalMs: number;
    readonly breakGlassMaxSeconds: number;
    readonly reviewWithinMs: number;
  };
  readonly notifications: {
    readonly webhooks: readonly WebhookConfig[];
    readonly retryInitialMs: number;
    readonly retryMaxMs: number;
  };
  /** Signed checkpoints, HMAC of sensitive values, the SIEM stream, retention (see docs/audit.md). */
  readonly audit: AuditConfig;
  readonly console: { readonly idleTimeoutMs: number };
  /** Ended grants (and their requests) older than this leave the grant tables; null (the default) keeps them forever. */
  readonly retention: {
    readonly endedGrantsMs: number | null;
    readonly checkIntervalMs: number;
  };
  /** Dormancy: identities unseen this long are marked dormant; null (the default) turns it off. */
  readonly identityLifecycle: {
    readonly dormantAfterMs: number | null;
    readonly checkIntervalMs: number;
  };
  readonly bootstrap: {
    readonly envFile: string;
    readonly identity: string;
    readonly admin: string | null;
    readonly approver: string | null;
  } | null;
}

export type NotificationEvent =
  | "approval_pending"
  | "break_glass"
  | "review_overdue"
  | "removal_failed"
  | "request_flagged";

export interface WebhookConfig {
  readonly name: string;
  readonly url: string;
  readonly format: "json" | "slack";
  /** HMAC-SHA256 key for the `x-ephemera-signature` header; null sends unsigned (not recommended). */
  readonly secret: string | null;
  readonly events: readonly NotificationEvent[];
  readonly maxAttempts: number;
  readonly timeoutMs: number;
}

export interface PostgresStorageConfig {
  readonly url: string;
  /** Resolved from `{ env }` or `{ file }`; null when the URL (or trust, or a .pgpass) carries the login. */
  readonly password: string | null;
  readonly schema: string;
  readonly poolSize: number;
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

export interface RateLimit {
  readonly max: number;
  readonly windowMs: number;
}

export interface RateLimits {
  readonly authFailures: RateLimit;
  readonly signIns: RateLimit;
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
  const problems = schemaProblems(raw);
  if (problems.length > 0) throw new ConfigError(source, problems);
  const doc = raw as RawConfig;
  const path = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));

  const seconds = (value: string | number | undefined, at: string, fallback: number): number => {
    if (value === undefined) return fallback;
    const parsed = parseDuration(value);
    if (parsed === null) {
      problems.push(`${at}: '${value}' is not a duration (use 90s, 15m, 1h30m, 2d or whole seconds)`);
      return fallback;
    }
    return parsed;
  };

  const dataDir = path(doc.dataDir ?? "./data");
  // EPHEMERA_LISTEN (or `ephemera server --listen`) overrides the file: a busy port needs no YAML edit.
  const listenOverride = env.EPHEMERA_LISTEN;
  const [host, port] =
    listenOverride !== undefined && listenOverride !== ""
      ? parseListen(listenOverride, "EPHEMERA_LISTEN", problems)
      : parseListen(doc.server?.listen ?? "127.0.0.1:8720", "server.listen", problems);
  const scheme = doc.server?.tls ? "https" : "http";
  const publicUrl = (doc.server?.publicUrl ?? `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`).replace(
    /\/$/,
    "",
  );

  const identities = new Map<string, ConfiguredIdentity>();
  for (const [id, spec] of Object.entries(doc.identities ?? {})) {
    if (spec.kind !== "human" && !spec.owner) {
      problems.push(`identities.${id}.owner: required for a ${spec.kind} (every non-human identity has an owner)`);
    }
    identities.set(id, {
      id,
      kind: spec.kind as Identity["kind"],
      owner: spec.owner ?? null,
      groups: spec.groups ?? [],
      attributes: spec.attributes ?? {},
      status: "active",
      admin: spec.admin ?? false,
      apiKeys: spec.apiKeys ?? [],
    });
  }

  const readText = (file: string, at: string): string | null => {
    try {
      return readFileSync(path(file), "utf8");
    } catch (error) {
      problems.push(`${at}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
      return null;
    }
  };
  const authenticators = parseAuthenticators((doc as { authenticators?: unknown }).authenticators, {
    identities,
    problems,
    readFile: readText,
  });
  let tls: Config["server"]["tls"] = null;
  if (doc.server?.tls) {
    const t = doc.server.tls;
    const cert = readText(t.cert, "server.tls.cert");
    const key = readText(t.key, "server.tls.key");
    const clientCa = t.clientCa === undefined ? null : readText(t.clientCa, "server.tls.clientCa");
    if (cert !== null && !cert.includes("BEGIN CERTIFICATE"))
      problems.push("server.tls.cert: holds no PEM certificate");
    if (key !== null && !/BEGIN [A-Z ]*PRIVATE KEY/.test(key))
      problems.push("server.tls.key: holds no PEM private key");
    if (clientCa !== null && !clientCa.includes("BEGIN CERTIFICATE")) {
      problems.push("server.tls.clientCa: holds no PEM certificate");
    }
    tls = { cert: cert ?? "", key: new Secret(key ?? ""), clientCa };
  }
  if (authenticators.some((a) => a.type === "mtls") && !tls?.clientCa) {
    problems.push(
      "authenticators: an mtls authenticator needs server.tls.clientCa (the server must ask for client certificates)",
    );
  }

  const targets: TargetConfig[] = [];
  for (const [targetId, spec] of Object.entries(doc.targets ?? {})) {
    const { type, entitlements: rawEntitlements, adminRotation, ...rawSettings } = spec;
    const settings = resolveSecretRefs(rawSettings, `targets.${targetId}`, env, path, problems);
    const entitlements: EntitlementSpec[] = [];
    for (const [name, ent] of Object.entries(rawEntitlements)) {
      const at = `targets.${targetId}.entitlements.${name}`;
      const { defaultDuration, maxDuration, risk, description: _description, ...entSettings } = ent;
      const def = seconds(defaultDuration, `${at}.defaultDuration`, 0);
      const max = seconds(maxDuration, `${at}.maxDuration`, 0);
      if (max <= 0) problems.push(`${at}.maxDuration: must be more than zero`);
      if (def <= 0) problems.push(`${at}.defaultDuration: must be more than zero`);
      if (def > max) problems.push(`${at}.defaultDuration: ${def}s is above maxDuration (${max}s)`);
      entitlements.push({
        name: `${targetId}/${name}`,
        targetId,
        defaultDurationSeconds: def,
        maxDurationSeconds: max,
        risk: risk ?? "low",
        settings: entSettings,
      });
    }
    const rotation =
      adminRotation === undefined ? null : seconds(adminRotation, `targets.${targetId}.adminRotation`, 0);
    if (rotation !== null && rotation < 60) problems.push(`targets.${targetId}.adminRotation: must be at least 60s`);
    targets.push({ id: targetId, type, settings, entitlements, adminRotationSeconds: rotation });
  }

  const known = new Set(targets.flatMap((t) => t.entitlements.map((e) => e.name)));
  const access: AccessRule[] = (doc.access ?? []).map((rule, index) => {
    for (const ent of rule.entitlements) {
      const [target, name] = ent.split("/");
      const exists = name === "*" ? targets.some((t) => t.id === target) : known.has(ent);
      if (!exists) problems.push(`access.${index}.entitlements: '${ent}' names no configured entitlement`);
    }
    for (const id of rule.identities ?? []) {
      if (!identities.has(id)) problems.push(`access.${index}.identities: '${id}' is not a configured identity`);
    }
    if (!rule.identities?.length && !rule.groups?.length) {
      problems.push(`access.${index}: names neither identities nor groups, so it would match no one`);
    }
    return {
      index,
      identities: rule.identities ?? [],
      groups: rule.groups ?? [],
      entitlements: rule.entitlements,
      maxDurationSeconds:
        rule.maxDuration === undefined ? null : seconds(rule.maxDuration, `access.${index}.maxDuration`, 0),
    };
  });

  let policies: Config["policies"] = null;
  if (doc.policies !== undefined) {
    const spec = typeof doc.policies === "string" ? { dir: doc.policies } : doc.policies;
    policies = { dir: path(spec.dir), watch: spec.watch ?? true, onChange: spec.onChange ?? "revoke" };
    if (doc.access !== undefined) {
      problems.push("access: not with `policies` (the allow-list is the simple alternative to Cedar policies)");
    }
  }

  const ap = doc.approvals ?? {};
  const approvals: Config["approvals"] = {
    pendingTimeoutMs: seconds(ap.pendingTimeout, "approvals.pendingTimeout", 3600) * 1000,
    collectTimeoutMs: seconds(ap.collectTimeout, "approvals.collectTimeout", 3600) * 1000,
    sweepIntervalMs: seconds(ap.sweepInterval, "approvals.sweepInterval", 5) * 1000,
    breakGlassMaxSeconds: seconds(ap.breakGlass?.maxDuration, "approvals.breakGlass.maxDuration", 3600),
    reviewWithinMs: seconds(ap.breakGlass?.reviewWithin, "approvals.breakGlass.reviewWithin", 86_400) * 1000,
  };
  for (const [name, value] of Object.entries(approvals)) {
    if (value <= 0) problems.push(`approvals.${name.replace(/Ms$|Seconds$/, "")}: must be more than zero`);
  }

  const nt = doc.notifications ?? {};
  const webhookNames = new Set<string>();
  const webhooks: WebhookConfig[] = (nt.webhooks ?? []).map((hook, index) => {
    const at = `notifications.webhooks.${index}`;
    if (webhookNames.has(hook.name)) problems.push(`${at}.name: '${hook.name}' is used twice`);
    webhookNames.add(hook.name);
    const urlProblem = outboundUrlProblem(`${at}.url`, hook.url, hook.allowInsecureLoopback ?? false);
    if (urlProblem) problems.push(urlProblem);
    // A secret is named, never written in the file: only { env } or { file } is accepted.
    const isRef = typeof hook.secret === "object" && hook.secret !== null && !Array.isArray(hook.secret);
    const secret =
      hook.secret === undefined
        ? null
        : isRef
          ? resolveSecretRef(hook.secret, `${at}.secret`, env, path, problems)
          : "";
    if (secret !== null && (typeof secret !== "string" || secret.length < 16)) {
      problems.push(`${at}.secret: must be { env: NAME } or { file: PATH } naming at least 16 characters`);
    }
    return {
      name: hook.name,
      url: hook.url,
      format: hook.format ?? "json",
      secret: typeof secret === "string" ? secret : null,
      events: hook.events ?? ["approval_pending", "break_glass", "review_overdue", "removal_failed", "request_flagged"],
      maxAttempts: hook.maxAttempts ?? 8,
      timeoutMs: seconds(hook.timeout, `${at}.timeout`, 5) * 1000,
    };
  });

  let bootstrap: Config["bootstrap"] = null;
  if (doc.bootstrap) {
    const { envFile, identity, admin, approver } = doc.bootstrap;
    if (approver !== undefined && !identities.has(approver)) {
      problems.push(`bootstrap.approver: '${approver}' is not a configured identity`);
    }
    if (!identities.has(identity)) problems.push(`bootstrap.identity: '${identity}' is not a configured identity`);
    if (admin !== undefined && !identities.get(admin)?.admin) {
      problems.push(`bootstrap.admin: '${admin}' is not a configured identity with admin: true`);
    }
    bootstrap = { envFile: path(envFile), identity, admin: admin ?? null, approver: approver ?? null };
  }

  const postgres = postgresStorage(doc.storage, env, path, problems);

  const il = doc.identityLifecycle ?? {};
  const dormantAfterSeconds =
    il.dormantAfter === undefined ? null : seconds(il.dormantAfter, "identityLifecycle.dormantAfter", 0);
  if (dormantAfterSeconds !== null && dormantAfterSeconds < 3600) {
    problems.push("identityLifecycle.dormantAfter: must be at least 1h (identities are seen at most once a minute)");
  }
  const identityLifecycle: Config["identityLifecycle"] = {
    dormantAfterMs: dormantAfterSeconds === null ? null : dormantAfterSeconds * 1000,
    checkIntervalMs: seconds(il.checkInterval, "identityLifecycle.checkInterval", 3600) * 1000,
  };
  if (identityLifecycle.checkIntervalMs <= 0) problems.push("identityLifecycle.checkInterval: must be more than zero");

  const rt = doc.retention ?? {};
  const keepSeconds =
    rt.endedGrants === undefined || rt.endedGrants === "forever"
      ? null
      : seconds(rt.endedGrants, "retention.endedGrants", 0);
  if (keepSeconds !== null && keepSeconds < 86_400) {
    problems.push("retention.endedGrants: must be at least 1d, or forever (the default)");
  }
  const retention: Config["retention"] = {
    endedGrantsMs: keepSeconds === null ? null : keepSeconds * 1000,
    checkIntervalMs: seconds(rt.checkInterval, "retention.checkInterval", 3600) * 1000,
  };
  if (retention.checkIntervalMs <= 0) problems.push("retention.checkInterval: must be more than zero");

  const lc = doc.lifecycle ?? {};
  const config: Config = {
    dataDir,
    server: {
      host,
      port,
      publicUrl,
      bodyLimit: doc.server?.bodyLimit ?? 64 * 1024,
      tls,
      rateLimit: rateLimits(doc.server?.rateLimit, seconds),
      trustProxy: doc.server?.trustProxy ?? [],
    },
    storage: { sqlitePath: path(doc.storage?.sqlite ?? `${dataDir}/ephemera.db`), postgres },
    secrets: {
      masterKeyFile: path(doc.secrets?.masterKeyFile ?? `${dataDir}/master.key`),
      masterKeyFromEnv: env.EPHEMERA_MASTER_KEY ?? null,
    },
    logLevel: doc.logging?.level ?? env.EPHEMERA_LOG_LEVEL ?? "info",
    tokens: {
      issuer: doc.tokens?.issuer ?? publicUrl,
      rotationIntervalSeconds: seconds(doc.tokens?.rotationInterval, "tokens.rotationInterval", 86_400),
    },
    lifecycle: {
      removalClaimMs: seconds(lc.removalClaim, "lifecycle.removalClaim", 30) * 1000,
      retryInitialMs: seconds(lc.retryInitial, "lifecycle.retryInitial", 1) * 1000,
      retryMaxMs: seconds(lc.retryMax, "lifecycle.retryMax", 30) * 1000,
      removalConcurrency: lc.removalConcurrency ?? 64,
      schedulerBatch: lc.schedulerBatch ?? 1000,
      pollIntervalMs: seconds(lc.pollInterval, "lifecycle.pollInterval", 1) * 1000,
    },
    identities,
    authenticators,
    targets,
    reconcileIntervalMs: seconds(doc.reconciler?.interval, "reconciler.interval", 300) * 1000,
    usageIntervalMs: seconds(doc.monitor?.usage?.interval, "monitor.usage.interval", 30) * 1000,
    access,
    policies,
    approvals,
    notifications: {
      webhooks,
      retryInitialMs: seconds(nt.retryInitial, "notifications.retryInitial", 2) * 1000,
      retryMaxMs: seconds(nt.retryMax, "notifications.retryMax", 300) * 1000,
    },
    bootstrap,
    console: { idleTimeoutMs: consoleIdle(doc.console?.idleTimeout, seconds, problems) },
    audit: auditConfig(doc.audit, {
      dataDir,
      path,
      seconds,
      secretRef: (value, at) => resolveSecretRef(value, at, env, path, problems),
      readFile: (file, at) => {
        try {
          return readFileSync(file, "utf8").replace(/\r?\n$/, "");
        } catch (error) {
          problems.push(`${at}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
          return null;
        }
      },
      webhookNames,
      problems,
    }),
    identityLifecycle,
    retention,
  };
  if (problems.length > 0) throw new ConfigError(source, problems);
  return deepFreeze(config);
}

function postgresStorage(
  storage: RawConfig["storage"],
  env: NodeJS.ProcessEnv,
  path: (p: string) => string,
  problems: string[],
): PostgresStorageConfig | null {
  const spec = storage?.postgres;
  if (spec === undefined) return null;
  if (storage?.sqlite !== undefined) {
    problems.push("storage: name one store, sqlite or postgres, not both");
  }
  const { url, password, schema, poolSize } = typeof spec === "string" ? { url: spec } : spec;
  let resolved: string | null = null;
  if (password !== undefined) {
    const value =
      typeof password === "object"
        ? resolveSecretRef(password, "storage.postgres.password", env, path, problems)
        : null;
    if (typeof value === "string") resolved = value;
    else problems.push("storage.postgres.password: must be { env: NAME } or { file: PATH }, never the password itself");
  }
  return { url, password: resolved, schema: schema ?? "public", poolSize: poolSize ?? 10 };
}

/**
 * Target settings may name a secret instead of holding it: `{ env: NAME }` reads an environment variable, `{ file: PATH }`
 * a file (trailing newline dropped). Resolved here, once, so connectors see plain strings and no other code reads either.
 */
function resolveSecretRefs(
  settings: Record<string, unknown>,
  at: string,
  env: NodeJS.ProcessEnv,
  path: (p: string) => string,
  problems: string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    out[key] = resolveSecretRef(value, `${at}.${key}`, env, path, problems);
  }
  return out;
}

function resolveSecretRef(
  value: unknown,
  at: string,
  env: NodeJS.ProcessEnv,
  path: (p: string) => string,
  problems: string[],
): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  const ref = value as { env?: unknown; file?: unknown };
  if (keys.length === 1 && typeof ref.env === "string") {
    const found = env[ref.env];
    if (found === undefined) problems.push(`${at}: environment variable ${ref.env} is not set`);
    return found ?? "";
  }
  if (keys.length === 1 && typeof ref.file === "string") {
    try {
      return readFileSync(path(ref.file), "utf8").replace(/\r?\n$/, "");
    } catch (error) {
      problems.push(`${at}: cannot read ${ref.file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
      return "";
    }
  }
  return resolveSecretRefs(value as Record<string, unknown>, at, env, path, problems);
}

function consoleIdle(
  raw: string | number | undefined,
  seconds: (value: string | number | undefined, at: string, fallback: number) => number,
  problems: string[],
): number {
  const idle = seconds(raw, "console.idleTimeout", 30 * 60);
  if (idle < 60) problems.push("console.idleTimeout: must be at least 1m");
  return Math.max(60, idle) * 1000;
}

/** Per-source limits on failed authentications and console sign-ins; on by default, `false` turns them off. */
function rateLimits(
  raw: NonNullable<RawConfig["server"]>["rateLimit"],
  seconds: (value: string | number | undefined, at: string, fallback: number) => number,
): RateLimits | null {
  if (raw === false) return null;
  const limit = (name: "authFailures" | "signIns", max: number): RateLimit => {
    const given = raw?.[name];
    return {
      max: given?.max ?? max,
      windowMs: Math.max(1, seconds(given?.window, `server.rateLimit.${name}.window`, 60)) * 1000,
    };
  };
  return { authFailures: limit("authFailures", 20), signIns: limit("signIns", 10) };
}

function parseListen(listen: string, at: string, problems: string[]): [string, number] {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || port > 65535) {
    problems.push(`${at}: '${listen}' must be host:port, e.g. 127.0.0.1:8720`);
    return ["127.0.0.1", 8720];
  }
  return [match[1]!.replace(/^\[|\]$/g, ""), port];
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    if (value instanceof Map) for (const v of value.values()) deepFreeze(v);
    else for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
