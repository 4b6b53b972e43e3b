// Reads, validates and freezes the agent's configuration; errors name the path (`credentials.orders.sink.path: …`).
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import Value from "typebox/value";
import { parse as parseYaml } from "yaml";
import { isLoopbackHost, parseDurationMs } from "../client/index.js";
import { AgentConfigSchema, type RawAgentConfig } from "./config-schema.js";
import { checkTemplate, type SinkFormat } from "./sink/index.js";

export type AuthConfig =
  | { readonly type: "api-key"; readonly key: { readonly env: string } | { readonly file: string } }
  | { readonly type: "oidc-file" | "spiffe-file"; readonly path: string }
  | { readonly type: "github-actions"; readonly audience: string }
  | { readonly type: "gitlab-ci"; readonly variable: string };

export interface SinkConfig {
  readonly path: string;
  readonly format: SinkFormat;
  /** The template's text (from `template` or `templateFile`), for format template. */
  readonly template: string | null;
  readonly mode: number;
  readonly uid: number | null;
  readonly gid: number | null;
}

export interface CredentialConfig {
  readonly name: string;
  readonly entitlement: string;
  readonly duration: string | number | null;
  readonly justification: string | null;
  readonly ticket: string | null;
  readonly intent: string | null;
  readonly sink: SinkConfig;
  readonly onChange: { readonly signal: NodeJS.Signals | null; readonly command: readonly string[] | null };
  readonly approvalTimeoutMs: number;
}

export interface AgentConfig {
  readonly source: string;
  readonly broker: { readonly url: string; readonly timeoutMs: number };
  readonly auth: AuthConfig;
  readonly dpop: { readonly keyFile: string; readonly create: boolean } | null;
  readonly credentials: readonly CredentialConfig[];
  readonly renewal: {
    readonly graceMs: number;
    readonly jitter: number;
    readonly retryInitialMs: number;
    readonly retryMaxMs: number;
  };
  readonly shutdown: { readonly timeoutMs: number; readonly removeSinks: boolean };
  readonly health: { readonly host: string; readonly port: number } | null;
  readonly logLevel: "debug" | "info" | "warn" | "error" | "silent";
  readonly once: boolean;
}

/** The configuration is wrong; `problems` lists each one as `path: what is wrong`. */
export class AgentConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid agent configuration in ${source}:\n  ${problems.join("\n  ")}`);
    this.name = "AgentConfigError";
  }
}

export function loadAgentConfigFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): AgentConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new AgentConfigError(path, [`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? "error"}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new AgentConfigError(path, [`not valid YAML: ${(error as Error).message.split("\n")[0]}`]);
  }
  return buildAgentConfig(raw ?? {}, path, env, dirname(resolve(cwd, path)));
}

function dotted(pointer: string): string {
  const parts = pointer
    .split("/")
    .slice(1)
    .map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));
  return parts.length === 0 ? "(top level)" : parts.join(".");
}

/** Schema problems as `path: message`, one per place. */
export function agentSchemaProblems(raw: unknown): string[] {
  const problems: string[] = [];
  for (const error of Value.Errors(AgentConfigSchema, raw)) {
    if (error.keyword === "boolean") continue;
    const path = dotted(error.instancePath);
    if (error.keyword === "additionalProperties") {
      const extra = (error.params as { additionalProperties?: string[] }).additionalProperties ?? [];
      problems.push(`${path}: unknown option${extra.length > 1 ? "s" : ""} ${extra.map((e) => `'${e}'`).join(", ")}`);
    } else if (error.keyword === "anyOf" || error.keyword === "const") {
      problems.push(`${path}: not one of the allowed values`);
    } else {
      problems.push(`${path}: ${error.message}`);
    }
  }
  const credentials = (raw as { credentials?: unknown } | null)?.credentials;
  if (typeof credentials === "object" && credentials !== null) {
    for (const name of Object.keys(credentials)) {
      if (!CREDENTIAL_NAME.test(name)) {
        problems.push(`credentials.${name}: a name is lower-case letters, digits, - and _ (at most 63)`);
      }
    }
  }
  return [...new Set(problems)];
}

const CREDENTIAL_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * Validates a parsed document. Relative paths are resolved against `baseDir` (the config file's directory); `env` is
 * only checked for the variables the file names.
 */
export function buildAgentConfig(
  raw: unknown,
  source: string,
  env: NodeJS.ProcessEnv = {},
  baseDir = process.cwd(),
): AgentConfig {
  const schema = agentSchemaProblems(raw);
  if (schema.length > 0) throw new AgentConfigError(source, schema);
  const doc = raw as RawAgentConfig;
  const problems: string[] = [];
  const path = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const ms = (value: string | number | undefined, at: string, fallback: number): number => {
    if (value === undefined) return fallback;
    const parsed = parseDurationMs(value);
    if (parsed === null) {
      problems.push(`${at}: not a duration (e.g. 30s, 15m, 1h)`);
      return fallback;
    }
    return parsed;
  };

  const auth = authOf(doc.auth, env, path, problems);
  const credentials: CredentialConfig[] = [];
  const sinkPaths = new Map<string, string>();
  for (const [name, spec] of Object.entries(doc.credentials)) {
    const at = `credentials.${name}`;
    const format = spec.sink.format ?? "env";
    const sinkPath = path(spec.sink.path);
    const other = sinkPaths.get(sinkPath);
    if (other !== undefined) problems.push(`${at}.sink.path: the same file as credentials.${other}.sink.path`);
    sinkPaths.set(sinkPath, name);
    if (!existsSync(dirname(sinkPath)) || !statSync(dirname(sinkPath)).isDirectory()) {
      problems.push(`${at}.sink.path: the directory ${dirname(sinkPath)} does not exist`);
    }
    let template: string | null = null;
    if (format === "template") {
      if ((spec.sink.template === undefined) === (spec.sink.templateFile === undefined)) {
        problems.push(`${at}.sink: format template needs exactly one of template or templateFile`);
      } else if (spec.sink.templateFile !== undefined) {
        try {
          template = readFileSync(path(spec.sink.templateFile), "utf8");
        } catch (error) {
          problems.push(`${at}.sink.templateFile: cannot read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
        }
      } else {
        template = spec.sink.template ?? null;
      }
      if (template !== null) {
        try {
          checkTemplate(template);
        } catch (error) {
          problems.push(
            `${at}.sink.${spec.sink.template === undefined ? "templateFile" : "template"}: ${(error as Error).message}`,
          );
        }
      }
    } else if (spec.sink.template !== undefined || spec.sink.templateFile !== undefined) {
      problems.push(`${at}.sink: template and templateFile need format: template`);
    }
    const duration = spec.duration ?? null;
    if (duration !== null) ms(duration, `${at}.duration`, 0);
    credentials.push({
      name,
      entitlement: spec.entitlement,
      duration,
      justification: spec.justification ?? null,
      ticket: spec.ticket ?? null,
      intent: spec.intent ?? null,
      sink: {
        path: sinkPath,
        format,
        template,
        mode: typeof spec.sink.mode === "string" ? Number.parseInt(spec.sink.mode, 8) : (spec.sink.mode ?? 0o600),
        uid: spec.sink.uid ?? null,
        gid: spec.sink.gid ?? null,
      },
      onChange: {
        signal: (spec.onChange?.signal as NodeJS.Signals | undefined) ?? null,
        command: spec.onChange?.command ?? null,
      },
      approvalTimeoutMs: ms(spec.approvalTimeout, `${at}.approvalTimeout`, 15 * 60_000),
    });
  }

  let health: AgentConfig["health"] = null;
  if (doc.health) {
    const index = doc.health.listen.lastIndexOf(":");
    const port = Number(doc.health.listen.slice(index + 1));
    if (port > 65_535) problems.push("health.listen: port must be at most 65535");
    health = { host: doc.health.listen.slice(0, index), port };
  }
  const renewal = {
    graceMs: ms(doc.renewal?.grace, "renewal.grace", 30_000),
    jitter: doc.renewal?.jitter ?? 0.1,
    retryInitialMs: ms(doc.renewal?.retryInitial, "renewal.retryInitial", 1_000),
    retryMaxMs: ms(doc.renewal?.retryMax, "renewal.retryMax", 30_000),
  };
  if (renewal.retryInitialMs <= 0) problems.push("renewal.retryInitial: must be more than 0");
  if (renewal.retryMaxMs < renewal.retryInitialMs) problems.push("renewal.retryMax: must be at least retryInitial");

  const config: AgentConfig = {
    source,
    broker: {
      url: brokerUrl(doc.broker.url, problems),
      timeoutMs: ms(doc.broker.timeout, "broker.timeout", 30_000),
    },
    auth: auth ?? { type: "oidc-file", path: "" },
    dpop: doc.dpop ? { keyFile: path(doc.dpop.keyFile), create: doc.dpop.create ?? false } : null,
    credentials,
    renewal,
    shutdown: {
      timeoutMs: ms(doc.shutdown?.timeout, "shutdown.timeout", 10_000),
      removeSinks: doc.shutdown?.removeSinks ?? true,
    },
    health,
    logLevel: doc.logging?.level ?? "info",
    once: doc.once ?? false,
  };
  if (problems.length > 0) throw new AgentConfigError(source, problems);
  return deepFreeze(config);
}

function authOf(
  spec: RawAgentConfig["auth"],
  env: NodeJS.ProcessEnv,
  path: (p: string) => string,
  problems: string[],
): AuthConfig | null {
  const allowed: Record<string, readonly string[]> = {
    "api-key": ["key"],
    "oidc-file": ["path"],
    "spiffe-file": ["path"],
    "github-actions": ["audience"],
    "gitlab-ci": ["variable"],
  };
  const wanted = allowed[spec.type] ?? [];
  for (const key of ["key", "path", "audience", "variable"] as const) {
    const present = spec[key] !== undefined;
    if (present && !wanted.includes(key)) problems.push(`auth.${key}: not an option of auth type ${spec.type}`);
    if (!present && wanted.includes(key)) problems.push(`auth.${key}: required for auth type ${spec.type}`);
  }
  switch (spec.type) {
    case "api-key": {
      const key = spec.key;
      if (key === undefined) return null;
      if ((key.env === undefined) === (key.file === undefined)) {
        problems.push("auth.key: give exactly one of env or file");
        return null;
      }
      if (key.env !== undefined) {
        if (!env[key.env]) problems.push(`auth.key.env: the variable ${key.env} is not set`);
        return { type: "api-key", key: { env: key.env } };
      }
      return { type: "api-key", key: { file: path(key.file ?? "") } };
    }
    case "oidc-file":
    case "spiffe-file":
      return spec.path === undefined ? null : { type: spec.type, path: path(spec.path) };
    case "github-actions":
      return spec.audience === undefined ? null : { type: "github-actions", audience: spec.audience };
    case "gitlab-ci":
      if (spec.variable !== undefined && !env[spec.variable]) {
        problems.push(`auth.variable: the variable ${spec.variable} is not set (declare it under id_tokens)`);
      }
      return spec.variable === undefined ? null : { type: "gitlab-ci", variable: spec.variable };
    default:
      return null;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * The broker's URL without userinfo, query or fragment. Credentials and workload tokens cross this connection, so it is
 * https, or http only to this host (127.0.0.1, ::1, localhost: a broker beside the agent).
 */
function brokerUrl(value: string, problems: string[]): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push("broker.url: not a URL");
    return value;
  }
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    problems.push("broker.url: must be https (plain http only to a broker on this host: 127.0.0.1, ::1, localhost)");
  }
  if (url.username || url.password) problems.push("broker.url: must not carry a user or password");
  url.search = "";
  url.hash = "";
  return url.toString().replace(/\/+$/, "");
}
