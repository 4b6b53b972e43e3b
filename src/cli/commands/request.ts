// `ephemera request <entitlement>`: ask for access and print the credential (the caller's own, shown once).
import type { Command } from "commander";
import type { Cli } from "../context.js";
import { withConnection } from "../context.js";
import { assignments, durationOf } from "../format.js";

interface RequestOptions {
  duration?: string;
  justification?: string;
  ticket?: string;
  intent?: string;
  json?: boolean;
}

export function registerRequest(program: Command, cli: Cli): void {
  withConnection(
    program
      .command("request")
      .description("ask for an entitlement and print the credential")
      .argument("<entitlement>", "target/entitlement, e.g. demo-api/read")
      .option("--duration <duration>", "how long, e.g. 15m or 1h30m (default: the entitlement's)")
      .option("--justification <text>", "why the access is needed")
      .option("--ticket <id>", "change or incident ticket")
      .option("--intent <text>", "what the task will do")
      .option("--json", "print the whole response as JSON"),
  ).action(async (entitlement: string, options: RequestOptions, command: Command) => {
    const duration = durationOf(options.duration);
    const result = await cli.client(command).request({
      entitlement,
      ...(duration === undefined ? {} : { duration }),
      ...(options.justification === undefined ? {} : { justification: options.justification }),
      ...(options.ticket === undefined ? {} : { ticket: options.ticket }),
      ...(options.intent === undefined ? {} : { intent: options.intent }),
    });
    if (options.json) {
      cli.json(result);
      return;
    }
    const { grant, credential } = result;
    cli.print(`# grant ${grant.id} (${grant.entitlement}) expires ${grant.expiresAt ?? "-"}`);
    cli.print(`# end it when done: ephemera complete ${grant.id}`);
    for (const line of assignments(credential.fields)) cli.print(line);
  });
}
