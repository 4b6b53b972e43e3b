// `ephemera complete <grantId>`: end a grant because its task is done and report whether removal was verified.
import type { Command } from "commander";
import type { Cli } from "../context.js";
import { withConnection } from "../context.js";
import { endSummary } from "../format.js";

export function registerComplete(program: Command, cli: Cli): void {
  withConnection(
    program
      .command("complete")
      .description("end a grant because its task is done; waits until removal is verified")
      .argument("<grantId>")
      .option("--json", "print the grant as JSON"),
  ).action(async (grantId: string, options: { json?: boolean }, command: Command) => {
    const grant = await cli.client(command).complete(grantId);
    if (options.json) cli.json(grant);
    else cli.print(endSummary(grant, "completed"));
  });
}
