// `ephemera revoke <grantId>`: end a grant by decision and report whether removal was verified.
import type { Command } from "commander";
import type { Cli } from "../context.js";
import { withConnection } from "../context.js";
import { endSummary } from "../format.js";

export function registerRevoke(program: Command, cli: Cli): void {
  withConnection(
    program
      .command("revoke")
      .description("end a grant by decision; waits until removal is verified")
      .argument("<grantId>")
      .option("--reason <text>", "why (kept in the audit log)")
      .option("--json", "print the grant as JSON"),
  ).action(async (grantId: string, options: { reason?: string; json?: boolean }, command: Command) => {
    const grant = await cli.client(command).revoke(grantId, options.reason);
    if (options.json) cli.json(grant);
    else cli.print(endSummary(grant, "revoked"));
  });
}
