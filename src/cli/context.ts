// What every command shares: injectable output and environment, the exit code, the API client and error reporting.
import type { Command } from "commander";
import { type ClientOptions, EphemeraApiError, EphemeraClient } from "../client/index.js";
import { exitCodeForError, UsageError } from "./exit-codes.js";
import { brokerKey, sessionFilePath, storedSession } from "./session-file.js";

export type Env = Readonly<Record<string, string | undefined>>;

/** Where signals come from: `process` in production, an EventEmitter in tests. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Env;
  readonly signals: SignalSource;
  /** A person at a terminal (stdin and stdout are TTYs): the broker is told, so policy can see it. */
  readonly interactive?: boolean;
}

export const DEFAULT_URL = "http://127.0.0.1:8720";

let pipesGuarded = false;

/** `ephemera grants | head` closes stdout early; that must not crash the CLI (nor stop `exec` from ending its grant). */
function ignoreBrokenPipes(): void {
  if (pipesGuarded) return;
  pipesGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") throw error;
    });
  }
}

export function defaultIo(): CliIo {
  ignoreBrokenPipes();
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    signals: process,
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
  };
}

export interface ConnectionOptions {
  url?: string;
  token?: string;
  sessionFile?: string;
}

/** Adds --url, --token and --session-file to a command that talks to the broker. */
export function withConnection(command: Command): Command {
  return command
    .option("--url <url>", `broker URL (default: EPHEMERA_URL or ${DEFAULT_URL})`)
    .option("--token <key>", "API key (default: EPHEMERA_TOKEN; prefer the variable, arguments show in ps)")
    .option(
      "--session-file <path>",
      "where `ephemera login` keeps sessions (default: EPHEMERA_SESSION_FILE or ~/.config/ephemera/session.json)",
    );
}

/** The broker URL a command talks to: `--url`, else EPHEMERA_URL, else the default. */
export function brokerUrlOf(cli: Cli, command: Command): string {
  return optionOf(command, "url") ?? cli.io.env.EPHEMERA_URL ?? DEFAULT_URL;
}

export class Cli {
  exitCode = 0;
  /** The broker whose stored session (from `ephemera login`) the last client was built with, for a refusal's hint. */
  #sessionBroker: string | null = null;

  constructor(readonly io: CliIo) {}

  /** Writes one line (or several) to stdout. */
  print(text: string): void {
    this.io.stdout(text.endsWith("\n") ? text : `${text}\n`);
  }

  warn(text: string): void {
    this.io.stderr(text.endsWith("\n") ? text : `${text}\n`);
  }

  json(value: unknown): void {
    this.print(JSON.stringify(value, null, 2));
  }

  /**
   * A client for the broker: `--url`/`--token` on the command (or before it) win over the environment.
   * `tokenVariables` are tried in order (the audit commands prefer EPHEMERA_ADMIN_TOKEN); with none of them, the
   * session `ephemera login` stored for this broker, refused here when it has expired.
   */
  client(
    command: Command,
    tokenVariables: readonly string[] = ["EPHEMERA_TOKEN"],
    extra: Pick<ClientOptions, "dpop"> = {},
  ): EphemeraClient {
    const url = brokerUrlOf(this, command);
    let token = optionOf(command, "token");
    for (const name of tokenVariables) token ??= this.io.env[name] || undefined;
    if (!token) {
      const path = sessionFilePath(this.io.env, optionOf(command, "sessionFile"));
      const session = storedSession(path, url, Date.now());
      if (!session) {
        throw new UsageError(
          `no API key and no session: set ${tokenVariables.join(" or ")}, pass --token, or run ephemera login`,
        );
      }
      token = session.token;
      this.#sessionBroker = brokerKey(url);
    }
    return new EphemeraClient({ url, token, clientKind: "cli", interactive: this.io.interactive ?? false, ...extra });
  }

  /** Reports an error on stderr (`error: <detail> (<code>)` for problems) and returns its exit code. */
  fail(error: unknown): number {
    if (error instanceof EphemeraApiError) {
      this.warn(`error: ${error.detail} (${error.code})`);
      const requestId = error.problem?.requestId;
      if (typeof requestId === "string") this.warn(`request: ${requestId}`);
      // A session the broker no longer knows is not fixed by retrying; an offboarded person's (identity_inactive, 403)
      // is not fixed by logging in again either, and the broker's message already says so.
      if (error.status === 401 && this.#sessionBroker !== null) {
        this.warn(`your session on ${this.#sessionBroker} was refused (it ended or expired): run ephemera login again`);
      }
    } else {
      this.warn(`error: ${error instanceof Error ? error.message : String(error)}`);
    }
    return exitCodeForError(error);
  }
}

/** The nearest value of a string option, looking from the command up to the program. */
export function optionOf(command: Command, name: string): string | undefined {
  for (let current: Command | null = command; current; current = current.parent) {
    const value: unknown = current.opts()[name];
    if (typeof value === "string" && value.length > 0) return value;
  }
  return undefined;
}

/** Admin commands prefer the admin key, so `set -a; . demo.env` is enough for both kinds of command. */
export const ADMIN_TOKEN_VARIABLES = ["EPHEMERA_ADMIN_TOKEN", "EPHEMERA_TOKEN"] as const;
