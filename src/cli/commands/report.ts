// `ephemera report`: the privilege report for a time range, as a summary or JSON (admin key).
import type { Command } from "commander";
import type { PrivilegeReport } from "../../client/index.js";
import type { Cli } from "../context.js";
import { ADMIN_TOKEN_VARIABLES, withConnection } from "../context.js";
import { table } from "../format.js";

const share = (value: number | null) => (value === null ? "-" : `${(value * 100).toFixed(1)}%`);
const secs = (value: number | null) => (value === null ? "-" : `${value} s`);

function printReport(cli: Cli, r: PrivilegeReport): void {
  const g = r.grants;
  cli.print(`grants issued from ${r.from} to ${r.to}`);
  cli.print(
    table(
      ["FIGURE", "VALUE"],
      [
        ["issued", String(g.issued)],
        ["ended", String(g.ended)],
        ["verified removal", `${g.verifiedRemoval} (${share(g.verifiedShare)} of ended; goal 100%)`],
        ["overruns beyond 2 s", String(g.overrunsOver2s)],
        ["unused (proven)", String(g.unused)],
        ["usage not observable", String(g.usageNotObservable)],
        ["renewals", String(g.renewals)],
        ["privilege median", secs(r.privilegeSeconds.median)],
        ["privilege p99", secs(r.privilegeSeconds.p99)],
      ],
    ),
  );
  if (r.standing.length === 0) {
    cli.print("\nstanding accounts: no discovery run yet (run `ephemera discover`)");
    return;
  }
  cli.print(`\nstanding accounts at the last discovery (${r.discoveredAt ?? "-"}):`);
  cli.print(
    table(
      ["TARGET", "ACCOUNTS"],
      r.standing.map((s) => [s.target, String(s.accounts)]),
    ),
  );
}

export function registerReport(program: Command, cli: Cli): void {
  withConnection(
    program
      .command("report")
      .description(
        "privilege report for grants issued in [from, to): duration, verified removal, overruns, unused (admin key)",
      )
      .option("--from <time>", "RFC 3339 date-time, inclusive (default: 24 hours before --to)")
      .option("--to <time>", "RFC 3339 date-time, exclusive (default: now)")
      .option("--json", "print JSON"),
  ).action(async (options: { from?: string; to?: string; json?: boolean }, command: Command) => {
    const client = cli.client(command, ADMIN_TOKEN_VARIABLES);
    const report = await client.report({
      ...(options.from === undefined ? {} : { from: options.from }),
      ...(options.to === undefined ? {} : { to: options.to }),
    });
    if (options.json) cli.json(report);
    else printReport(cli, report);
  });
}
