// `ephemera grants`: list grants (the caller's own; an admin's view covers everyone) as a table or JSON.
import type { Command } from "commander";
import type { GrantState } from "../../client/index.js";
import type { Cli } from "../context.js";
import { withConnection } from "../context.js";
import { integerOption, table } from "../format.js";

interface GrantsOptions {
  state?: string;
  identity?: string;
  target?: string;
  after?: string;
  limit?: number;
  json?: boolean;
}

export function registerGrants(program: Command, cli: Cli): void {
  withConnection(
    program
      .command("grants")
      .description("list grants")
      .option("--state <states>", "comma-separated: issuing, active, revoking, revoke_failed, revoked, verified")
      .option("--identity <id>", "only this identity's grants (admins)")
      .option("--target <id>", "only grants on this target")
      .option("--after <grantId>", "the page after this grant id")
      .option("--limit <n>", "at most this many (1-500, default 100)", integerOption(1, 500))
      .option("--json", "print JSON"),
  ).action(async (options: GrantsOptions, command: Command) => {
    const states = options.state
      ?.split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0) as GrantState[] | undefined;
    const page = await cli.client(command).listGrants({
      ...(states && states.length > 0 ? { state: states } : {}),
      ...(options.identity === undefined ? {} : { identity: options.identity }),
      ...(options.target === undefined ? {} : { target: options.target }),
      ...(options.after === undefined ? {} : { after: options.after }),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
    });
    if (options.json) {
      cli.json(page);
      return;
    }
    if (page.grants.length === 0) {
      cli.print("no grants");
      return;
    }
    cli.print(
      table(
        ["ID", "ENTITLEMENT", "STATE", "EXPIRES"],
        page.grants.map((g) => [g.id, g.entitlement, g.state, g.expiresAt ?? "-"]),
      ),
    );
    if (page.next !== null) cli.print(`more: ephemera grants --after ${page.next}`);
  });
}
