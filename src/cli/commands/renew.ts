// `ephemera renew <grantId>`: extend a grant (policy is asked again; the maximum is never passed).
import type { Command } from "commander";
import type { Cli } from "../context.js";
import { withConnection } from "../context.js";
import { assignments, durationOf } from "../format.js";

export function registerRenew(program: Command, cli: Cli): void {
  withConnection(
    program
      .command("renew")
      .description("extend a grant")
      .argument("<grantId>")
      .option("--duration <duration>", "extend by this much, e.g. 15m (default: the entitlement's)")
      .option("--json", "print the whole response as JSON"),
  ).action(async (grantId: string, options: { duration?: string; json?: boolean }, command: Command) => {
    const result = await cli.client(command).renew(grantId, durationOf(options.duration));
    if (options.json) {
      cli.json(result);
      return;
    }
    const capped = result.capped ? " (capped at the grant's maximum)" : "";
    cli.print(`# grant ${result.grant.id} now expires ${result.grant.expiresAt ?? "-"}${capped}`);
    if (result.credential) for (const line of assignments(result.credential.fields)) cli.print(line);
  });
}
