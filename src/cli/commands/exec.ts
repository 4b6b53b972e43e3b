// `ephemera exec --entitlement E -- CMD`: run CMD with a credential in its environment and end the grant when it exits.
import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:os";
import type { Command } from "commander";
import {
  type AccessRequest,
  completeGrant,
  type EphemeraClient,
  loadDpopKeyFile,
  parseDurationMs,
  type RequestInput,
  type RequestResult,
  requestAndWait,
} from "../../client/index.js";
import type { Cli, Env } from "../context.js";
import { withConnection } from "../context.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { durationOf } from "../format.js";

const FORWARDED: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

interface ExecOptions {
  entitlement: string;
  duration?: string;
  justification?: string;
  ticket?: string;
  intent?: string;
  cleanEnv?: boolean;
  env?: string[];
  wait?: string | boolean;
  dpop?: string;
  withhold?: string[];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function collectName(value: string, previous: string[] = []): string[] {
  if (!ENV_NAME.test(value)) throw new UsageError(`--env: '${value}' is not a variable name`);
  return [...previous, value];
}

export function registerExec(program: Command, cli: Cli): void {
  withConnection(
    program
      .command("exec")
      .description("run a command with a credential in its environment; the grant ends when the command exits")
      .requiredOption("--entitlement <entitlement>", "target/entitlement, e.g. demo-api/read")
      .option("--duration <duration>", "how long, e.g. 15m (default: the entitlement's)")
      .option("--justification <text>", "why the access is needed")
      .option("--ticket <id>", "change or incident ticket")
      .option("--intent <text>", "what the task will do")
      .option("--clean-env", "pass the command only PATH, HOME, LANG, TZ, TERM and --env names (plus the credential)")
      .option("--env <name>", "with --clean-env, also pass this variable (repeatable)", collectName)
      .option(
        "--withhold <name>",
        "never pass this variable, e.g. a CI platform's OIDC token (repeatable; GitHub's are withheld already)",
        collectName,
      )
      .option("--wait [timeout]", "when approval is needed, wait for it (default 15m) instead of failing")
      .option("--dpop <keyFile>", "bind the credential to this private JWK (RFC 9449 proofs); created 0600 if absent")
      .argument("<command>", "the program to run (no shell)")
      .argument("[args...]", "its arguments (put -- before the command)")
      .passThroughOptions(),
  ).action(async (file: string, args: string[], options: ExecOptions, command: Command) => {
    if (options.env !== undefined && options.cleanEnv !== true) throw new UsageError("--env needs --clean-env");
    const dpop = options.dpop === undefined ? {} : { dpop: await loadDpopKeyFile(options.dpop, { create: true }) };
    cli.exitCode = await runExec(cli, cli.client(command, undefined, dpop), file, args, options);
  });
}

export async function runExec(
  cli: Cli,
  client: EphemeraClient,
  file: string,
  args: readonly string[],
  options: ExecOptions,
): Promise<number> {
  let child: ChildProcess | null = null;
  let pending: NodeJS.Signals | null = null;
  let grantId: string | null = null;
  // Installed before the request so a signal while asking never leaves a grant nobody ends.
  const handlers = FORWARDED.map((signal) => {
    const handler = () => {
      if (child !== null && child.exitCode === null && child.signalCode === null) child.kill(signal);
      else if (grantId !== null) cli.warn(`ephemera: ${signal} received; ending grant ${grantId} first`);
      else pending ??= signal;
    };
    cli.io.signals.on(signal, handler);
    return [signal, handler] as const;
  });

  try {
    const duration = durationOf(options.duration);
    const input: RequestInput = {
      entitlement: options.entitlement,
      ...(duration === undefined ? {} : { duration }),
      ...(options.justification === undefined ? {} : { justification: options.justification }),
      ...(options.ticket === undefined ? {} : { ticket: options.ticket }),
      ...(options.intent === undefined ? {} : { intent: options.intent }),
    };
    const result =
      options.wait === undefined || options.wait === false
        ? await client.requestNow(input)
        : await requestAndWait(client, input, {
            timeoutMs: waitMs(options.wait),
            onPending: (request) => cli.warn(pendingNotice(request)),
          });
    grantId = result.grant.id;

    let code: number;
    try {
      if (pending !== null) {
        code = signalExit(pending);
      } else {
        const started = spawn(file, [...args], {
          stdio: "inherit",
          env: childEnv(cli.io.env, client, result, options),
        });
        child = started;
        code = await exitOf(started);
      }
    } catch (error) {
      code = cannotRun(cli, file, error);
    } finally {
      child = null;
    }
    return await finish(cli, client, result, code);
  } finally {
    for (const [signal, handler] of handlers) cli.io.signals.off(signal, handler);
  }
}

/** `--wait` alone waits 15 minutes; `--wait 5m` sets the limit. */
function waitMs(value: string | boolean): number {
  if (value === true) return 15 * 60_000;
  const ms = parseDurationMs(String(value));
  if (ms === null) throw new UsageError(`--wait: '${String(value)}' is not a duration such as 10m`);
  return ms;
}

function pendingNotice(request: AccessRequest): string {
  const who = (request.decision?.approvers ?? []).map((r) => `${r.count} from ${r.group}`).join(", ") || "an approver";
  return `ephemera: request ${request.id} needs approval (${who}); waiting`;
}

/** The task's credential and nothing of the broker's: no EPHEMERA_* variable but the grant's, no API key or token. */
function childEnv(env: Env, client: EphemeraClient, result: RequestResult, options: ExecOptions): NodeJS.ProcessEnv {
  return client.childEnvironment({
    env,
    credential: result.credential.env,
    grantId: result.grant.id,
    expiresAt: result.grant.expiresAt,
    ...(options.cleanEnv === true ? { clean: true } : {}),
    ...(options.env === undefined ? {} : { keep: options.env }),
    ...(options.withhold === undefined ? {} : { withhold: options.withhold }),
  });
}

/** Resolves with the child's exit code, 128 + n when a signal ended it; rejects when it could not be started. */
function exitOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve(code ?? (signal ? signalExit(signal) : EXIT.error)));
  });
}

function signalExit(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

function cannotRun(cli: Cli, file: string, error: unknown): number {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  cli.warn(`error: cannot run '${file}' (${code ?? (error instanceof Error ? error.message : String(error))})`);
  return code === "ENOENT" ? EXIT.commandNotFound : EXIT.cannotRun;
}

/** Ends the grant whatever the command did; a failure to end it turns a success into exit 1. */
async function finish(cli: Cli, client: EphemeraClient, result: RequestResult, code: number): Promise<number> {
  const id = result.grant.id;
  try {
    const ended = await completeGrant(client, id);
    if (ended !== null && !ended.removed) {
      cli.warn(
        `warning: grant ${id} ended but removal is not verified yet (${ended.state}${ended.lastError ? `: ${ended.lastError}` : ""}); the broker keeps retrying`,
      );
    }
    return code;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    cli.warn(`warning: could not end grant ${id}: ${why}; it ends at its expiry (${result.grant.expiresAt ?? "-"})`);
    return code === EXIT.ok ? EXIT.error : code;
  }
}
