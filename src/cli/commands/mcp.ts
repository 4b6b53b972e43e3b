// `ephemera mcp`: serve MCP tools to an AI agent (stdio, or Streamable HTTP with --http) so it gets task-scoped access
// with credentials delivered to sink files; every grant of a session is completed when the session ends.
import { mkdtempSync, readdirSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import type { Cli } from "../context.js";
import { withConnection } from "../context.js";
import { EXIT, UsageError } from "../exit-codes.js";

interface McpOptions {
  config?: string;
  http?: string;
  sinkDir?: string;
  agentConfig?: string;
  url?: string;
  token?: string;
}

const HELP = `
Transports:
  stdio (default)       for agents that launch their tools (Claude Desktop, Claude Code…): the client starts
                        'ephemera mcp' and talks over stdin/stdout; closing stdin ends the session.
  --http 127.0.0.1:PORT Streamable HTTP at http://127.0.0.1:PORT/mcp for hosted agents, one session per client
                        (Mcp-Session-Id); DELETE, idle timeout or SIGTERM end a session. An address that is
                        not loopback (127.0.0.0/8, ::1, localhost) needs http.bearerTokenFile.

Tools: list_entitlements, request_access, access_status, complete_access, renew_access.

The broker sees the agent's own workload identity: --agent-config (or broker.auth.agentConfig) uses the auth of an
'ephemera agent' configuration (api-key, oidc-file, spiffe-file, github-actions, gitlab-ci: a fresh token for every
request, never one already used), and its broker.url and dpop key unless --url or broker.url is given; else
broker.auth in --config (apiKeyFile, tokenFile read per call, tokenCommand run per request), --token or EPHEMERA_TOKEN. Credentials are written to sink files (0600; env,
json or a Mustache template) and never returned to the model unless 'reveal: true' is set for the entitlement.
When a session ends every grant it obtained is completed and its removal verified (within shutdownTimeout).

Config file (YAML, every key optional):
  broker: { url, auth: { apiKeyFile | tokenFile | tokenCommand: [argv…] | agentConfig } }
  sinks: { dir, format: env|json }           default sink: <dir>/<target>/<name>.<format>
  entitlements: { "orders/read": { sink: { path, format, template }, reveal: false } }
  onlyListed: false                          offer only the entitlements listed above
  limits: { concurrentGrants: 5, requestsPerMinute: 30,             per session
            maxSessions: 16,                                       HTTP sessions open at once
            totalConcurrentGrants: 20, totalRequestsPerMinute: 120 }  all sessions together
  wait: 20s                                  how long request_access waits for an approval
  shutdownTimeout: 10s
  http: { sessionIdleTimeout: 15m, bearerTokenFile }

See docs/ai-agents.md.`;

export function registerMcp(program: Command, cli: Cli): void {
  withConnection(
    program
      .command("mcp")
      .description("serve MCP tools so an AI agent gets task-scoped access; secrets go to sink files, not the model")
      .option("--config <file>", "YAML settings (see below)")
      .option("--http <host:port>", "serve Streamable HTTP on this address instead of stdio, e.g. 127.0.0.1:8790")
      .option(
        "--agent-config <file>",
        "authenticate with the auth (and broker URL, DPoP key) of an 'ephemera agent' config",
      )
      .option("--sink-dir <dir>", "where credentials are written by default (default: a new private temp folder)")
      .addHelpText("after", HELP),
  ).action(async (options: McpOptions, command: Command) => {
    cli.exitCode = await runMcp(cli, options, command.parent?.version() ?? "unknown");
  });
}

async function runMcp(cli: Cli, options: McpOptions, version: string): Promise<number> {
  // Loaded on use: the SDK is only needed by this command.
  const { checkListen, loadMcpConfig, McpConfigError, serveHttp, serveStdio } = await import("../../mcp/index.js");
  const listen = options.http === undefined ? null : hostPort(options.http);
  let madeDir: string | null = null;
  let config: ReturnType<typeof loadMcpConfig>;
  try {
    config = loadMcpConfig({
      ...(options.config === undefined ? {} : { file: options.config }),
      ...(options.url === undefined ? {} : { url: options.url }),
      ...(options.token === undefined ? {} : { token: options.token }),
      ...(options.sinkDir === undefined ? {} : { sinkDir: options.sinkDir }),
      ...(options.agentConfig === undefined ? {} : { agentConfig: options.agentConfig }),
      env: cli.io.env,
      defaultSinkDir: () => {
        madeDir = mkdtempSync(join(tmpdir(), "ephemera-mcp-"));
        return madeDir;
      },
    });
    if (listen !== null) checkListen(listen.host, config);
  } catch (error) {
    if (error instanceof McpConfigError) throw new UsageError(error.message);
    throw error;
  }
  // stdout is the MCP channel on stdio: every log line goes to stderr, as JSON.
  const log = (level: string, message: string, data: Record<string, unknown> = {}) =>
    cli.io.stderr(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...data })}\n`);

  const running =
    listen === null
      ? await serveStdio({ config, version, log, env: cli.io.env, stdin: process.stdin, stdout: process.stdout })
      : await serveHttp({ config, version, log, env: cli.io.env, ...listen });
  if (running.url !== null) cli.warn(`ephemera mcp: listening on ${running.url}`);

  const onSignal = () => {
    log("info", "stopping: completing every grant");
    void running.stop();
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) cli.io.signals.on(signal, onSignal);
  try {
    const reports = await running.done;
    return reports.some((r) => r.failed.length > 0) ? EXIT.error : EXIT.ok;
  } finally {
    for (const signal of ["SIGINT", "SIGTERM"] as const) cli.io.signals.off(signal, onSignal);
    if (madeDir !== null) removeIfEmpty(madeDir);
  }
}

/** Removes the sink folder and its per-target folders, only those left empty: a sink left behind stays put. */
function removeIfEmpty(dir: string): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return; // already gone
  }
  for (const entry of entries) {
    try {
      rmdirSync(join(dir, entry));
    } catch {
      // a file, or a folder that still holds a sink
    }
  }
  try {
    rmdirSync(dir);
  } catch {
    // not empty
  }
}

function hostPort(value: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || !Number.isInteger(port) || port > 65_535) {
    throw new UsageError("--http: give host:port, e.g. 127.0.0.1:8790");
  }
  return { host: (match[1] ?? "").replace(/^\[|\]$/g, ""), port };
}
