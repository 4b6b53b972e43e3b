// `ephemera grant <id>`: one grant with its removal state and evidence.
import type { Command } from "commander";
import type { Cli } from "../context.js";
import { withConnection } from "../context.js";
import { grantDetails } from "../format.js";

export function registerGrant(program: Command, cli: Cli): void {
  withConnection(
    program.command("grant").description("show one grant").argument("<grantId>").option("--json", "print JSON"),
  ).action(async (grantId: string, options: { json?: boolean }, command: Command) => {
    const grant = await cli.client(command).getGrant(grantId);
    if (options.json) cli.json(grant);
    else cli.print(grantDetails(grant));
  });
}
