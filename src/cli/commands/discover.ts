// `ephemera discover`, `ephemera targets` and `ephemera rotate TARGET`: reconciliation, standing privilege, admin rotation.
import type { Command } from "commander";
import type { DiscoveryReport } from "../../client/index.js";
import type { Cli } from "../context.js";
import { ADMIN_TOKEN_VARIABLES, withConnection } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { table } from "../format.js";

function printReport(cli: Cli, report: DiscoveryReport): void {
  cli.print(`reconciled at ${report.generatedAt}`);
  for (const t of report.targets) {
    if (!t.ok) {
      cli.print(`\n${t.target} (${t.type}): UNREACHABLE: ${t.error ?? "unknown error"}`);
      continue;
    }
    cli.print(`\n${t.target} (${t.type}): ${t.accounts} accounts, ${t.held} held by live grants`);
    for (const handle of t.removed) cli.print(`  REMOVED ${handle}: broker-made, no live grant (survived its window)`);
    for (const f of t.removeFailed) cli.print(`  REMOVE FAILED ${f.handle}: ${f.error}`);
    if (t.standing.length > 0) {
      cli.print(
        table(
          ["STANDING ACCOUNT", "ADMIN", "PRIVILEGES"],
          t.standing.map((a) => [
            a.broker ? `${a.handle} (broker)` : a.handle,
            a.admin ? "yes" : "no",
            a.privileges.join(", ") || "-",
          ]),
        )
          .split("\n")
          .map((line) => `  ${line}`)
          .join("\n"),
      );
    }
  }
  const totals = report.totals;
  cli.print(
    `\ntotal: ${totals.standing ?? 0} standing accounts (${totals.standingAdmin ?? 0} admin), ${totals.removed ?? 0} survivors removed, ${totals.unreachableTargets ?? 0} targets unreachable`,
  );
}

export function registerDiscover(program: Command, cli: Cli): void {
  withConnection(
    program
      .command("discover")
      .description(
        "reconcile every target now: remove broker-made accounts no live grant holds, report standing privilege (admin key)",
      )
      .option("--last", "show the last report instead of running a new reconciliation")
      .option("--json", "print JSON"),
  ).action(async (options: { last?: boolean; json?: boolean }, command: Command) => {
    const client = cli.client(command, ADMIN_TOKEN_VARIABLES);
    const report = options.last ? await client.lastDiscovery() : await client.discover();
    if (options.json) cli.json(report);
    else printReport(cli, report);
    cli.exitCode = report.targets.every((t) => t.ok && t.removeFailed.length === 0) ? EXIT.ok : EXIT.error;
  });

  withConnection(
    program
      .command("targets")
      .description("configured targets, their health and last admin rotation (admin key)")
      .option("--json", "print JSON"),
  ).action(async (options: { json?: boolean }, command: Command) => {
    const targets = await cli.client(command, ADMIN_TOKEN_VARIABLES).targets();
    if (options.json) {
      cli.json({ targets });
      return;
    }
    cli.print(
      table(
        ["TARGET", "TYPE", "HEALTHY", "LAST ROTATION"],
        targets.map((t) => [t.id, t.type, t.healthy ? "yes" : "NO", t.lastRotation ?? "never"]),
      ),
    );
  });

  withConnection(
    program
      .command("rotate")
      .description(
        "rotate a target's admin secret now: new secret sealed first, checked, then the old retired (admin key)",
      )
      .argument("<target>", "target id from the configuration")
      .option("--json", "print JSON"),
  ).action(async (target: string, options: { json?: boolean }, command: Command) => {
    const result = await cli.client(command, ADMIN_TOKEN_VARIABLES).rotateTarget(target);
    if (options.json) cli.json(result);
    else cli.print(`${result.rotated ? "ROTATED" : "NOT ROTATED"} ${result.target}: ${result.detail}`);
    cli.exitCode = result.rotated ? EXIT.ok : EXIT.error;
  });
}
