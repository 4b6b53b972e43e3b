// `ephemera audit verify` and `ephemera audit list`: check the hash chain, read events. Admins only.
import type { Command } from "commander";
import type { Cli } from "../context.js";
import { ADMIN_TOKEN_VARIABLES, withConnection } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { integerOption, table } from "../format.js";
import { type OfflineVerifyOptions, verifyOffline } from "./audit-offline.js";

export function registerAudit(program: Command, cli: Cli): void {
  const audit = program
    .command("audit")
    .description("the audit log (admin key: EPHEMERA_ADMIN_TOKEN or EPHEMERA_TOKEN)");

  withConnection(
    audit
      .command("verify")
      .description(
        `recompute the audit chain (on the broker, or offline with --checkpoints); exits ${EXIT.auditBroken} when it is broken`,
      )
      .option("--checkpoints <dir>", "verify offline against the signed checkpoints in this directory")
      .option("--store <sqlite-file|postgres-url>", "with --checkpoints: the store to read the events from")
      .option("--schema <name>", "with a postgres store: its schema (default public)")
      .option(
        "--key <pubkey>",
        "with --checkpoints: the pinned public key (JWK, PEM, ed25519:<x>, or a file holding one)",
      )
      .option("--json", "print the answer as JSON"),
  ).action(async (options: OfflineVerifyOptions & { checkpoints?: string }, command: Command) => {
    if (options.checkpoints !== undefined) {
      await verifyOffline(cli, { ...options, checkpoints: options.checkpoints });
      return;
    }
    const result = await cli.client(command, ADMIN_TOKEN_VARIABLES).verifyAudit();
    cli.exitCode = result.ok ? EXIT.ok : EXIT.auditBroken;
    if (options.json) {
      cli.json(result);
      return;
    }
    if (result.ok) {
      cli.print(
        `OK: audit chain intact (${result.count} events${result.headSeq === undefined ? "" : `, head ${result.headSeq}`})`,
      );
      return;
    }
    const where = result.firstBadSeq === undefined ? "" : ` at event ${result.firstBadSeq}`;
    const what = [result.problem, result.detail].filter((p) => typeof p === "string").join(": ");
    cli.print(`BROKEN${where}${what ? `: ${what}` : ""} (${result.count} events before it verified)`);
  });

  withConnection(
    audit
      .command("list")
      .description("audit events in sequence order")
      .option("--after <seq>", "events after this sequence number", integerOption(0, Number.MAX_SAFE_INTEGER))
      .option("--limit <n>", "at most this many (1-1000, default 100)", integerOption(1, 1000))
      .option("--json", "print JSON"),
  ).action(async (options: { after?: number; limit?: number; json?: boolean }, command: Command) => {
    const page = await cli.client(command, ADMIN_TOKEN_VARIABLES).audit(options.after, options.limit);
    if (options.json) {
      cli.json(page);
      return;
    }
    if (page.events.length === 0) {
      cli.print("no events");
      return;
    }
    cli.print(
      table(
        ["SEQ", "TIME", "CODE", "OUTCOME", "ACTOR", "GRANT"],
        page.events.map((e) => [
          String(e.seq),
          e.time ?? "-",
          e.code,
          e.outcome,
          `${e.actor.type}:${e.actor.id}`,
          e.grantId ?? "-",
        ]),
      ),
    );
    if (page.next !== null) cli.print(`more: ephemera audit list --after ${page.next}`);
  });
}
