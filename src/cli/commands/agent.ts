// `ephemera agent --config agent.yaml [-- CMD ARGS]`: keep credentials in sink files for a long-running workload.
import type { Command } from "commander";
import { type AgentConfig, AgentConfigError, loadAgentConfigFile, startAgent } from "../../agent/index.js";
import type { Cli } from "../context.js";
import { UsageError } from "../exit-codes.js";

interface AgentCliOptions {
  config?: string;
  once?: boolean;
  check?: boolean;
}

export function registerAgent(program: Command, cli: Cli): void {
  program
    .command("agent")
    .description(
      "keep credentials in sink files for a service: auto-auth, renewal, rotation with an overlap, every grant ended on exit",
    )
    .option("--config <file>", "the agent's YAML configuration (default: EPHEMERA_AGENT_CONFIG)")
    .option("--once", "write every sink once and exit, leaving the grants to expire (init containers)")
    .option("--check", "validate the configuration and exit")
    .argument("[command]", "a program to supervise: started once every sink is written (put -- before it)")
    .argument("[args...]", "its arguments")
    .passThroughOptions()
    .addHelpText(
      "after",
      "\nThe command gets the agent's environment without anything of the broker's (no EPHEMERA_* variable, API key\n" +
        "or platform token) and reads its credentials from the sinks; onChange: { signal: SIGHUP } tells it of a new one.\n" +
        "SIGTERM/SIGINT: the command is signalled first, then every grant is completed and verified (shutdown.timeout).\n" +
        "Configuration keys: docs/agent.md.",
    )
    .action(async (file: string | undefined, args: string[], options: AgentCliOptions) => {
      const path = options.config ?? cli.io.env.EPHEMERA_AGENT_CONFIG;
      if (!path) throw new UsageError("no configuration: pass --config or set EPHEMERA_AGENT_CONFIG");
      let config: AgentConfig;
      try {
        config = loadAgentConfigFile(path, { ...cli.io.env });
      } catch (error) {
        if (error instanceof AgentConfigError) throw new UsageError(error.message);
        throw error;
      }
      if (options.check === true) {
        cli.print(
          `${path}: valid (${config.credentials.length} credential${config.credentials.length === 1 ? "" : "s"})`,
        );
        return;
      }
      if (file !== undefined && (options.once === true || config.once)) {
        throw new UsageError("a command cannot be supervised in --once mode");
      }
      const agent = await startAgent(config, {
        env: { ...cli.io.env },
        signals: cli.io.signals,
        ...(file === undefined ? {} : { command: { file, args } }),
        ...(options.once === true ? { once: true } : {}),
      });
      cli.exitCode = await agent.done;
    });
}
