// `ephemera agent`: keeps every configured credential in its sink, supervises an optional command, and ends every
// grant it holds on shutdown. Composition only; the work is in keeper.ts (one credential), auth.ts and sink/.
import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:os";
import pino, { type Logger } from "pino";
import { EphemeraClient, isBrokerSecret, loadDpopKeyFile, sleep } from "../client/index.js";
import { type AuthSource, createAuthSource, type TokenPurpose } from "./auth.js";
import type { AgentConfig, CredentialConfig } from "./config.js";
import { type HealthServer, startHealthServer } from "./health.js";
import { reasonOf } from "./held.js";
import { CredentialKeeper, type Ended, type KeeperStatus } from "./keeper.js";
import { AgentMetrics } from "./metrics.js";
import { removeSink } from "./sink/index.js";

/** Where signals come from: `process` in production, an EventEmitter in tests. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

export interface AgentOptions {
  /** A command to supervise: started once every sink is written, signalled on changes, stopped first on shutdown. */
  readonly command?: { readonly file: string; readonly args: readonly string[] };
  readonly env?: NodeJS.ProcessEnv;
  readonly signals?: SignalSource;
  readonly logger?: Logger;
  /** For the GitHub Actions token endpoint (tests). */
  readonly fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Overrides the config's `once`. */
  readonly once?: boolean;
  /** Overrides the config's health port (0: any free port; tests). */
  readonly healthPort?: number;
}

export interface RunningAgent {
  /** The port /healthz and /metrics listen on, or null without `health`. */
  readonly healthPort: number | null;
  /** Resolves when every credential's first sink is written (or the agent stopped first). */
  readonly ready: Promise<void>;
  /** Resolves with the agent's exit code: the command's, or 0 (1 when a grant's removal was not verified). */
  readonly done: Promise<number>;
  statuses(): KeeperStatus[];
  /** Shuts down as on SIGTERM. */
  stop(): Promise<number>;
}

const HANDLED: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT"];
const NOTIFY_TIMEOUT_MS = 30_000;

export async function startAgent(config: AgentConfig, options: AgentOptions = {}): Promise<RunningAgent> {
  const env = options.env ?? process.env;
  const signals = options.signals ?? process;
  const logger =
    options.logger ??
    pino({ level: config.logLevel, base: { component: "ephemera-agent" } }, pino.destination({ dest: 2, sync: true }));
  const once = options.once ?? config.once;
  const auth = createAuthSource(config.auth, env, options.fetch);
  const dpop = config.dpop ? await loadDpopKeyFile(config.dpop.keyFile, { create: config.dpop.create }) : undefined;
  const metrics = new AgentMetrics();
  const childEnv = workloadEnvironment(env, auth);
  let child: ChildProcess | null = null;

  const clientFor = async (purpose: TokenPurpose) =>
    new EphemeraClient({
      url: config.broker.url,
      token: await auth.token(purpose),
      timeoutMs: config.broker.timeoutMs,
      ...(dpop === undefined ? {} : { dpop }),
    });

  const notify = async (credential: CredentialConfig): Promise<void> => {
    const { signal, command } = credential.onChange;
    if (signal !== null && child !== null && child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      logger.info({ credential: credential.name, signal, pid: child.pid }, "signalled the command");
    }
    if (command !== null) await runHook(command, childEnv, logger, credential.name);
  };

  const keepers = config.credentials.map(
    (credential) => new CredentialKeeper(credential, { clientFor, logger, metrics, renewal: config.renewal, notify }),
  );
  const statuses = () => keepers.map((k) => k.status());

  let health: HealthServer | null = null;
  if (config.health) {
    const listen = { host: config.health.host, port: options.healthPort ?? config.health.port };
    health = await startHealthServer(listen, statuses, metrics);
    logger.info({ port: health.port }, "health and metrics listening");
  }

  logger.info(
    {
      broker: config.broker.url,
      auth: auth.describe,
      credentials: keepers.map((k) => k.name),
      dpop: dpop?.jkt ?? null,
    },
    "agent starting",
  );
  for (const keeper of keepers) keeper.start({ once });
  const ready = Promise.all(keepers.map((k) => k.ready())).then(() => undefined);

  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });
  let shuttingDown: Promise<number> | null = null;
  let childExit: Promise<number> | null = null;

  const shutdown = (signal: NodeJS.Signals | null): Promise<number> => {
    shuttingDown ??= (async () => {
      const deadline = Date.now() + config.shutdown.timeoutMs;
      logger.info({ signal }, "shutting down");
      let code = 0;
      if (child !== null && childExit !== null) {
        // The command goes first: it stops using the credentials before they are removed.
        if (signal !== null && child.exitCode === null && child.signalCode === null) child.kill(signal);
        const exited = await Promise.race([childExit, sleep(deadline - Date.now()).then(() => null)]);
        if (exited === null) {
          logger.warn({ pid: child.pid }, "the command did not exit in time; killing it");
          child.kill("SIGKILL");
          code = await childExit;
        } else {
          code = exited;
        }
      }
      const ended = await Promise.race([
        Promise.all(keepers.map((k) => k.stop({ keep: once }))).then((lists) => lists.flat()),
        sleep(Math.max(0, deadline - Date.now()) + 1_000).then(() => null),
      ]);
      if (ended === null) {
        logger.error({ held: keepers.flatMap((k) => k.grantIds()) }, "grants not confirmed ended in time; they expire");
        code ||= 1;
      } else {
        reportEnded(logger, ended);
        if (ended.some((e) => !e.removed)) code ||= 1;
      }
      if (!once && config.shutdown.removeSinks) {
        for (const credential of config.credentials) await removeSink(credential.sink.path).catch(() => undefined);
      }
      await health?.close();
      for (const [s, handler] of handlers) signals.off(s, handler);
      logger.info({ code }, "agent stopped");
      logger.flush?.();
      return code;
    })();
    shuttingDown.then(finish);
    return shuttingDown;
  };

  const handlers = HANDLED.map((s) => {
    const handler = () => void shutdown(s);
    signals.on(s, handler);
    return [s, handler] as const;
  });

  void ready.then(() => {
    if (shuttingDown !== null) return;
    if (once) {
      logger.info({ credentials: statuses() }, "every sink written; leaving the grants to expire");
      void shutdown(null);
      return;
    }
    if (options.command === undefined) return;
    const started = spawn(options.command.file, [...options.command.args], { stdio: "inherit", env: childEnv });
    child = started;
    childExit = new Promise<number>((resolve) => {
      started.once("error", (error) => {
        logger.error({ command: options.command?.file, err: reasonOf(error) }, "cannot run the command");
        resolve((error as NodeJS.ErrnoException).code === "ENOENT" ? 127 : 126);
      });
      started.once("exit", (code, signal) => resolve(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1)));
    });
    logger.info({ pid: started.pid, command: options.command.file }, "command started");
    void childExit.then((code) => {
      logger.info({ code }, "command exited");
      void shutdown(null);
    });
  });

  return {
    get healthPort() {
      return health?.port ?? null;
    },
    ready,
    done,
    statuses,
    stop: () => shutdown("SIGTERM"),
  };
}

function reportEnded(logger: Logger, ended: readonly Ended[]): void {
  for (const e of ended) {
    if (!e.removed) logger.error({ credential: e.credential, grantId: e.grantId }, "removal not verified");
  }
  logger.info({ grants: ended.length, verified: ended.filter((e) => e.removed).length }, "grants ended");
}

/**
 * The environment of the supervised command and onChange hooks: the agent's own minus anything of the broker's
 * (`isBrokerSecret`: every EPHEMERA_* variable, any API key) and the variables the auth source reads. Credentials
 * reach the command through its sink files, which rotation keeps current.
 */
export function workloadEnvironment(
  env: NodeJS.ProcessEnv,
  auth: Pick<AuthSource, "variables">,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || auth.variables.includes(name) || isBrokerSecret(name, value)) continue;
    out[name] = value;
  }
  return out;
}

async function runHook(
  command: readonly string[],
  env: Record<string, string>,
  logger: Logger,
  credential: string,
): Promise<void> {
  const [file, ...args] = command;
  if (file === undefined) return;
  const hook = spawn(file, args, { stdio: "inherit", env, timeout: NOTIFY_TIMEOUT_MS });
  const code = await new Promise<number | string>((resolve) => {
    hook.once("error", (error) => resolve((error as NodeJS.ErrnoException).code ?? "error"));
    hook.once("exit", (exitCode, signal) => resolve(exitCode ?? signal ?? "unknown"));
  });
  if (code !== 0) throw new Error(`onChange command ${file} ended with ${code}`);
  logger.info({ credential, command: file }, "onChange command ran");
}
