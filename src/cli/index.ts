// The `ephemera` command: builds the commander program, runs one command and returns its exit code (see exit-codes.ts).
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { registerAgent } from "./commands/agent.js";
import { registerApprovals } from "./commands/approvals.js";
import { registerAudit } from "./commands/audit.js";
import { registerComplete } from "./commands/complete.js";
import { registerDevIssuer } from "./commands/dev-issuer.js";
import { registerDiscover } from "./commands/discover.js";
import { registerExec } from "./commands/exec.js";
import { registerGrant } from "./commands/grant.js";
import { registerGrants } from "./commands/grants.js";
import { registerIdentities } from "./commands/identities.js";
import { registerKeygen } from "./commands/keygen.js";
import { registerLogin } from "./commands/login.js";
import { registerMcp } from "./commands/mcp.js";
import { registerPolicy } from "./commands/policy.js";
import { registerRenew } from "./commands/renew.js";
import { registerReport } from "./commands/report.js";
import { registerRequest } from "./commands/request.js";
import { registerRevoke } from "./commands/revoke.js";
import { registerServer } from "./commands/server.js";
import { Cli, type CliIo, DEFAULT_URL, defaultIo, withConnection } from "./context.js";
import { EXIT } from "./exit-codes.js";

export type { CliIo, Env, SignalSource } from "./context.js";
export { EXIT, type ExitCode } from "./exit-codes.js";

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}

function buildProgram(cli: Cli): Command {
  const program = new Command("ephemera")
    .description("Just-in-time access broker: short-lived, task-scoped credentials whose removal is proven.")
    .version(version(), "-V, --version")
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: cli.io.stdout, writeErr: cli.io.stderr })
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText(
      "after",
      `\nEnvironment: EPHEMERA_URL (default ${DEFAULT_URL}), EPHEMERA_TOKEN (API key), EPHEMERA_CONFIG (server),\n` +
        "EPHEMERA_SESSION_FILE (where `ephemera login` keeps a person's sessions).\n" +
        "Exit codes: 0 ok, 1 error, 2 usage/config, 3 denied/forbidden, 4 not found, 5 broker unreachable,\n" +
        "6 audit chain broken, 7 conflict; exec exits with its command's code.",
    );
  withConnection(program);
  registerServer(program, cli);
  registerLogin(program, cli);
  registerRequest(program, cli);
  registerApprovals(program, cli);
  registerGrants(program, cli);
  registerGrant(program, cli);
  registerRenew(program, cli);
  registerComplete(program, cli);
  registerRevoke(program, cli);
  registerExec(program, cli);
  registerMcp(program, cli);
  registerAgent(program, cli);
  registerAudit(program, cli);
  registerDiscover(program, cli);
  registerReport(program, cli);
  registerKeygen(program, cli);
  registerDevIssuer(program, cli);
  registerPolicy(program, cli);
  registerIdentities(program, cli);
  return program;
}

/** Runs the CLI on `argv` (as in process.argv: node, script, args…) and returns the exit code; never exits itself. */
export async function runCli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const cli = new Cli({ ...defaultIo(), ...io });
  const program = buildProgram(cli);
  try {
    await program.parseAsync([...argv], { from: "node" });
    return cli.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed the message or the help.
      return error.code === "commander.helpDisplayed" || error.code === "commander.version" ? EXIT.ok : EXIT.usage;
    }
    return cli.fail(error);
  }
}
