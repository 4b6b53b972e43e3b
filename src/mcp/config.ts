// `ephemera mcp` settings: read once from a YAML file (optional) and the command line, validated, then frozen.
// Errors name the key (`entitlements.orders/read.sink.format: …`), never a secret.
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import {
  AgentConfigError,
  type AuthConfig,
  checkTemplate,
  loadAgentConfigFile,
  SINK_FORMATS,
  type SinkFormat,
} from "../agent/index.js";
import { isLoopbackHost } from "../client/index.js";

/** How `ephemera mcp` proves to the broker that it is the agent's workload identity (never a person). */
export type BrokerAuth =
  /** An API key in a file, read at start. */
  | { readonly kind: "apiKeyFile"; readonly path: string }
  /** A workload JWT (OIDC, Kubernetes projected token, JWT-SVID) in a file the platform rotates: read per call. */
  | { readonly kind: "tokenFile"; readonly path: string }
  /** A command (no shell) printing a fresh workload JWT: run for every request, since the broker refuses replays. */
  | { readonly kind: "tokenCommand"; readonly argv: readonly string[] }
  /** A token given directly (`--token` or EPHEMERA_TOKEN). */
  | { readonly kind: "token"; readonly value: string }
  /**
   * The auth source of an `ephemera agent` configuration (`--agent-config` or `broker.auth.agentConfig`): a fresh
   * workload token for every request, never one already sent with a request.
   */
  | { readonly kind: "agentConfig"; readonly file: string; readonly source: AuthConfig };

/** A private key whose DPoP proofs bind issued credentials to it (from the agent configuration's `dpop`). */
export interface DpopKeySettings {
  readonly keyFile: string;
  /** Make the key (0600) when the file is absent. */
  readonly create: boolean;
}

export interface SinkSpec {
  /** Where the credential is written (0600, atomically); relative paths resolve from the config file's folder. */
  readonly path: string;
  readonly format: SinkFormat;
  /** For `template`: Mustache, logic-less (`{{fields.password}}`, `{{env.PGUSER}}`, `{{grantId}}`, `{{expiresAt}}`). */
  readonly template?: string;
}

export interface EntitlementSettings {
  /** Where this entitlement's credential goes; default `<sinks.dir>/<target>/<name>.<format>`. */
  readonly sink: SinkSpec | null;
  /** Put the credential itself in the tool result, i.e. in the model's context. Off unless set; audited. */
  readonly reveal: boolean;
}

export interface McpConfig {
  readonly broker: { readonly url: string; readonly auth: BrokerAuth; readonly dpop: DpopKeySettings | null };
  /** The default sink of an entitlement without its own: `<dir>/<target>/<name>.<format>`. */
  readonly sinks: { readonly dir: string; readonly format: "env" | "json" };
  /** Per-entitlement settings by `target/name`; an entitlement not listed gets the defaults. */
  readonly entitlements: Readonly<Record<string, EntitlementSettings>>;
  /** Only the listed entitlements may be asked for (default: whatever the broker's policy permits). */
  readonly onlyListed: boolean;
  readonly limits: {
    /** Grants and pending requests one session may hold at once. */
    readonly concurrentGrants: number;
    /** `request_access` and `renew_access` calls one session may make in a minute. */
    readonly requestsPerMinute: number;
    /** HTTP sessions open at once; a further `initialize` is answered 503. */
    readonly maxSessions: number;
    /** Grants and pending requests of all sessions together. */
    readonly totalConcurrentGrants: number;
    /** `request_access` and `renew_access` calls of all sessions together in a minute. */
    readonly totalRequestsPerMinute: number;
  };
  /** How long `request_access` waits for approvers before answering `pending`. */
  readonly waitMs: number;
  /** How long ending a session's grants may take when the client disconnects or the server stops. */
  readonly shutdownTimeoutMs: number;
  readonly http: {
    /** A session with no request for this long is closed and its grants completed. */
    readonly sessionIdleTimeoutMs: number;
    /** When set, HTTP clients must send `Authorization: Bearer <file content>`. */
    readonly bearerTokenFile: string | null;
  };
}

export class McpConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "McpConfigError";
  }
}

const DURATION = /^(\d+)(ms|s|m|h)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** "500ms", "20s", "15m", "1h" → milliseconds. */
function millisOf(text: string): number | null {
  const match = DURATION.exec(text.trim());
  if (!match) return null;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

const Duration = z.string().refine((v) => millisOf(v) !== null, "a duration such as 500ms, 20s, 15m or 1h");
const Format = z.enum(SINK_FORMATS as [SinkFormat, ...SinkFormat[]]);
const Sink = z.strictObject({
  path: z.string().min(1),
  format: Format.default("env"),
  template: z.string().optional(),
});

const FileSchema = z.strictObject({
  broker: z
    .strictObject({
      url: z.url().optional(),
      auth: z
        .strictObject({
          apiKeyFile: z.string().min(1).optional(),
          tokenFile: z.string().min(1).optional(),
          tokenCommand: z.array(z.string().min(1)).min(1).optional(),
          agentConfig: z.string().min(1).optional(),
        })
        .refine((a) => Object.keys(a).length <= 1, "give one of apiKeyFile, tokenFile, tokenCommand or agentConfig")
        .optional(),
    })
    .optional(),
  sinks: z.strictObject({ dir: z.string().min(1).optional(), format: z.enum(["env", "json"]).optional() }).optional(),
  entitlements: z
    .record(
      z.string().regex(/^[^/\s]+\/[^/\s]+$/, "entitlement names are target/name"),
      z.strictObject({ sink: Sink.optional(), reveal: z.boolean().optional() }).nullable(),
    )
    .optional(),
  onlyListed: z.boolean().optional(),
  limits: z
    .strictObject({
      concurrentGrants: z.int().min(1).max(1000).optional(),
      requestsPerMinute: z.int().min(1).max(10_000).optional(),
      maxSessions: z.int().min(1).max(10_000).optional(),
      totalConcurrentGrants: z.int().min(1).max(100_000).optional(),
      totalRequestsPerMinute: z.int().min(1).max(1_000_000).optional(),
    })
    .optional(),
  wait: Duration.optional(),
  shutdownTimeout: Duration.optional(),
  http: z
    .strictObject({ sessionIdleTimeout: Duration.optional(), bearerTokenFile: z.string().min(1).optional() })
    .optional(),
});

export interface McpConfigInput {
  /** The YAML file (`--config`), if any. */
  readonly file?: string;
  /** `--url`, `--token`, `--sink-dir`: win over the file. */
  readonly url?: string;
  readonly token?: string;
  readonly sinkDir?: string;
  /** `--agent-config`: an `ephemera agent` configuration whose auth (and broker URL, DPoP key) to use; wins over the file. */
  readonly agentConfig?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where credentials go when neither the file nor `--sink-dir` says (a fresh private folder). */
  readonly defaultSinkDir: () => string;
}

export const DEFAULTS = {
  url: "http://127.0.0.1:8720",
  concurrentGrants: 5,
  requestsPerMinute: 30,
  maxSessions: 16,
  totalConcurrentGrants: 20,
  totalRequestsPerMinute: 120,
  wait: "20s",
  shutdownTimeout: "10s",
  sessionIdleTimeout: "15m",
} as const;

export function loadMcpConfig(input: McpConfigInput): McpConfig {
  let raw: unknown = {};
  const base = input.file ? resolve(input.file, "..") : process.cwd();
  if (input.file) {
    let text: string;
    try {
      text = readFileSync(input.file, "utf8");
    } catch (error) {
      throw new McpConfigError(`${input.file}: cannot read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
    }
    try {
      raw = parseYaml(text) ?? {};
    } catch (error) {
      throw new McpConfigError(
        `${input.file}: not YAML (${error instanceof Error ? error.message.split("\n")[0] : ""})`,
      );
    }
  }
  const parsed = FileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join(".") || "(top level)";
    // A bad record key (an entitlement name) carries the key's own message inside.
    const inner = issue && "issues" in issue ? (issue.issues as { message: string }[] | undefined)?.[0] : undefined;
    throw new McpConfigError(`${path}: ${inner?.message ?? issue?.message ?? "invalid"}`);
  }
  const doc = parsed.data;
  const at = (path: string) => (isAbsolute(path) ? path : resolve(base, path));
  const duration = (value: string) => millisOf(value) ?? 0;

  const agent = agentOf(input, doc.broker?.auth, at);
  const format = doc.sinks?.format ?? "env";
  const entitlements: Record<string, EntitlementSettings> = {};
  for (const [name, settings] of Object.entries(doc.entitlements ?? {})) {
    const sink = settings?.sink;
    if (sink?.format === "template") {
      if (sink.template === undefined)
        throw new McpConfigError(`entitlements.${name}.sink.template: format template needs a template`);
      try {
        checkTemplate(sink.template);
      } catch (error) {
        throw new McpConfigError(
          `entitlements.${name}.sink.${error instanceof Error ? error.message : "template: invalid"}`,
        );
      }
    }
    entitlements[name] = Object.freeze({
      sink: sink
        ? Object.freeze({
            path: at(sink.path),
            format: sink.format,
            ...(sink.template === undefined ? {} : { template: sink.template }),
          })
        : null,
      reveal: settings?.reveal === true,
    });
  }

  return Object.freeze({
    broker: Object.freeze({
      // The agent configuration is an explicit choice, so its URL comes before the ambient EPHEMERA_URL.
      url: input.url ?? doc.broker?.url ?? agent?.broker.url ?? input.env.EPHEMERA_URL ?? DEFAULTS.url,
      auth: agent
        ? Object.freeze({ kind: "agentConfig", file: agent.source, source: agent.auth })
        : authOf(input, doc.broker?.auth, at),
      dpop: agent?.dpop ? Object.freeze({ ...agent.dpop }) : null,
    }),
    sinks: Object.freeze({
      dir: input.sinkDir ? resolve(input.sinkDir) : doc.sinks?.dir ? at(doc.sinks.dir) : input.defaultSinkDir(),
      format,
    }),
    entitlements: Object.freeze(entitlements),
    onlyListed: doc.onlyListed === true,
    limits: Object.freeze({
      concurrentGrants: doc.limits?.concurrentGrants ?? DEFAULTS.concurrentGrants,
      requestsPerMinute: doc.limits?.requestsPerMinute ?? DEFAULTS.requestsPerMinute,
      maxSessions: doc.limits?.maxSessions ?? DEFAULTS.maxSessions,
      totalConcurrentGrants: doc.limits?.totalConcurrentGrants ?? DEFAULTS.totalConcurrentGrants,
      totalRequestsPerMinute: doc.limits?.totalRequestsPerMinute ?? DEFAULTS.totalRequestsPerMinute,
    }),
    waitMs: duration(doc.wait ?? DEFAULTS.wait),
    shutdownTimeoutMs: duration(doc.shutdownTimeout ?? DEFAULTS.shutdownTimeout),
    http: Object.freeze({
      sessionIdleTimeoutMs: duration(doc.http?.sessionIdleTimeout ?? DEFAULTS.sessionIdleTimeout),
      bearerTokenFile: doc.http?.bearerTokenFile ? at(doc.http.bearerTokenFile) : null,
    }),
  });
}

/**
 * Refuses an HTTP listen address that other machines can reach unless clients must prove themselves with a bearer
 * token: whoever reaches the port otherwise gets credentials under the agent's identity.
 */
export function checkListen(host: string, config: McpConfig): void {
  if (isLoopbackHost(host) || config.http.bearerTokenFile !== null) return;
  throw new McpConfigError(
    `http.bearerTokenFile: required when listening on ${host}, which is not a loopback address (127.0.0.0/8, ::1, localhost): anyone who can reach the port would get credentials under the agent's identity`,
  );
}

type FileAuth = z.infer<typeof FileSchema>["broker"] extends infer B
  ? B extends { auth?: infer A }
    ? A
    : never
  : never;

/**
 * Loads the `ephemera agent` configuration named by `--agent-config` (relative to the working folder) or
 * `broker.auth.agentConfig` (relative to this file), with the agent's own loader: the whole file is validated as the
 * agent would, and its problems are reported under the key or flag that named it.
 */
function agentOf(input: McpConfigInput, auth: FileAuth | undefined, at: (path: string) => string) {
  if (input.agentConfig && input.token) throw new McpConfigError("--agent-config: give either it or --token, not both");
  // --token wins over the file's broker.auth, whichever kind it names.
  const [key, path] = input.agentConfig
    ? ["--agent-config", resolve(input.agentConfig)]
    : auth?.agentConfig && !input.token
      ? ["broker.auth.agentConfig", at(auth.agentConfig)]
      : [null, null];
  if (key === null || path === null) return null;
  try {
    return loadAgentConfigFile(path, { ...input.env });
  } catch (error) {
    if (error instanceof AgentConfigError) throw new McpConfigError(`${key}: ${error.message}`);
    throw error;
  }
}

function authOf(input: McpConfigInput, auth: FileAuth | undefined, at: (path: string) => string): BrokerAuth {
  if (input.token) return { kind: "token", value: input.token };
  if (auth?.apiKeyFile) return { kind: "apiKeyFile", path: at(auth.apiKeyFile) };
  if (auth?.tokenFile) return { kind: "tokenFile", path: at(auth.tokenFile) };
  if (auth?.tokenCommand) return { kind: "tokenCommand", argv: Object.freeze([...auth.tokenCommand]) };
  const fromEnv = input.env.EPHEMERA_TOKEN;
  if (fromEnv) return { kind: "token", value: fromEnv };
  throw new McpConfigError(
    "broker.auth: no workload identity: set broker.auth (apiKeyFile, tokenFile, tokenCommand or agentConfig), --agent-config, EPHEMERA_TOKEN or --token",
  );
}
