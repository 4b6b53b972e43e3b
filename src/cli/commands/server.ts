// `ephemera server`: load the config file, start the broker, print the demo banner, stop cleanly on SIGINT/SIGTERM.
import type { Command } from "commander";
import type { Config } from "../../config/index.js";
import { describeError, redactSecrets } from "../../support/index.js";
import type { Cli } from "../context.js";
import { EXIT } from "../exit-codes.js";

const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"];

export function registerServer(program: Command, cli: Cli): void {
  program
    .command("server")
    .description("run the broker")
    .option("--config <file>", "configuration file (default: EPHEMERA_CONFIG or ephemera.yaml)")
    .option("--listen <host:port>", "listen here instead of the config's server.listen (also EPHEMERA_LISTEN)")
    .action(async (options: { config?: string; listen?: string }) => {
      cli.exitCode = await runServer(
        cli,
        options.config ?? cli.io.env.EPHEMERA_CONFIG ?? "ephemera.yaml",
        options.listen,
      );
    });
}

async function runServer(cli: Cli, configPath: string, listen: string | undefined): Promise<number> {
  // Loaded on use: the client commands start without fastify and SQLite.
  const { ConfigError, loadConfigFile } = await import("../../config/index.js");
  let config: Config;
  try {
    config = loadConfigFile(configPath, {
      ...cli.io.env,
      ...(listen === undefined ? {} : { EPHEMERA_LISTEN: listen }),
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    cli.warn(error.message);
    return EXIT.usage;
  }

  const { startBroker } = await import("../../main.js");
  // Listen before starting so a signal during start-up still stops the broker once it is up.
  let stop: (signal: NodeJS.Signals) => void = () => undefined;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    stop = resolve;
  });
  const handlers = STOP_SIGNALS.map((signal) => [signal, () => stop(signal)] as const);
  for (const [signal, handler] of handlers) cli.io.signals.on(signal, handler);
  try {
    let broker: Awaited<ReturnType<typeof startBroker>>;
    try {
      broker = await startBroker(config);
    } catch (error) {
      // Policies that do not load stop the start like a bad config: every file and policy at fault is named.
      const { PolicyLoadError } = await import("../../policy/cedar/policy-set.js");
      if (error instanceof PolicyLoadError) {
        cli.warn(error.message);
        return EXIT.usage;
      }
      // Anything else (a port in use, a store another broker holds, a store that cannot be opened) ends the process
      // with the reason on stderr, so a supervisor sees the failure.
      cli.warn(`error: the broker did not start: ${startFailure(error, config)}`);
      return EXIT.error;
    }
    if (broker.bootstrapEnv !== null && config.bootstrap !== null) {
      const env = broker.bootstrapEnv;
      const envFile = config.bootstrap.envFile;
      cli.print(
        [
          "",
          `Ephemera is running at ${broker.url}. Demo credentials (also in ${envFile}, mode 0600):`,
          `  EPHEMERA_URL=${env.get("EPHEMERA_URL") ?? broker.url}`,
          `  EPHEMERA_TOKEN=${env.get("EPHEMERA_TOKEN") ?? ""}`,
          ...(env.has("EPHEMERA_ADMIN_TOKEN")
            ? ["  (the env file also holds EPHEMERA_ADMIN_TOKEN, for `ephemera audit`)"]
            : []),
          ...(env.has("EPHEMERA_APPROVER_TOKEN")
            ? ["  (and EPHEMERA_APPROVER_TOKEN, for `ephemera requests --pending` and `ephemera approve`)"]
            : []),
          "Try:",
          `  set -a; . ${envFile}; npx ephemera request demo-api/read --duration 5m`,
          "",
        ].join("\n"),
      );
    }
    const signal = await stopped;
    cli.warn(`${signal} received: stopping the broker`);
    await broker.close();
    return EXIT.ok;
  } finally {
    for (const [signal, handler] of handlers) cli.io.signals.off(signal, handler);
  }
}

function startFailure(error: unknown, config: Config): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EADDRINUSE") {
    return `${config.server.host}:${config.server.port} is already in use (set EPHEMERA_LISTEN or --listen to use another address)`;
  }
  if (code === "EACCES" && (error as { syscall?: string }).syscall === "listen") {
    return `not allowed to listen on ${config.server.host}:${config.server.port}`;
  }
  if (error instanceof Error && error.name === "StoreLockedError") return redactSecrets(error.message);
  return describeError(error);
}
