// `ephemera audit verify` and `ephemera audit list`: check the hash chain, read events. Admins only.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { ExportFormat } from "../../audit/index.js";
import type { Cli } from "../context.js";
import { ADMIN_TOKEN_VARIABLES, withConnection } from "../context.js";
import { EXIT, UsageError } from "../exit-codes.js";
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
      .option(
        "--unpinned",
        "with --checkpoints and no --key: trust the key stored in the store being verified (a store replaced whole passes)",
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

  withConnection(
    audit
      .command("hmac")
      .description("the audit HMAC of a value (a token id such as jti:…, a source address), to find it in the log")
      .argument("<value>", "the value to look for")
      .option(
        "--key-file <file>",
        "compute it offline with this key (the audit.hmacKey file) instead of asking the broker",
      ),
  ).action(async (value: string, options: { keyFile?: string }, command: Command) => {
    if (options.keyFile !== undefined) {
      const { AuditHmac } = await import("../../audit/hmac.js");
      let key: string;
      try {
        key = readFileSync(options.keyFile, "utf8").replace(/\r?\n$/, "");
      } catch (error) {
        throw new UsageError(`--key-file: cannot read ${options.keyFile}: ${(error as NodeJS.ErrnoException).code}`);
      }
      if (key.length < 32) throw new UsageError("--key-file: the key must be at least 32 characters");
      cli.print(new AuditHmac(Buffer.from(key, "utf8")).tag(value));
      return;
    }
    cli.print(await cli.client(command, ADMIN_TOKEN_VARIABLES).auditHmac(value));
  });

  withConnection(
    audit.command("key").description("the public key that signs audit checkpoints, to pin (ed25519:<x>) or as a JWK"),
  ).action(async (_options: unknown, command: Command) => {
    const key = await cli.client(command, ADMIN_TOKEN_VARIABLES).checkpointKey();
    cli.print(`${key.pin}\n${JSON.stringify(key.jwk)}`);
  });

  withConnection(
    audit
      .command("export")
      .description("audit events for a SIEM, one JSON object per line, in sequence order")
      .option("--format <format>", "jsonl (the events as stored) or ocsf (OCSF 1.1)", "jsonl")
      .option("--since <seq|time>", "events after this sequence number, or at or after this ISO 8601 time"),
  ).action(async (options: { format: string; since?: string }, command: Command) => {
    if (options.format !== "jsonl" && options.format !== "ocsf") {
      throw new UsageError(`--format: '${options.format}' is not jsonl or ocsf`);
    }
    const format: ExportFormat = options.format;
    let after = 0;
    let fromTime = Number.NEGATIVE_INFINITY;
    if (options.since !== undefined) {
      if (/^\d+$/.test(options.since)) after = Number(options.since);
      else if (/^\d{4}-\d{2}-\d{2}/.test(options.since) && !Number.isNaN(Date.parse(options.since))) {
        fromTime = Date.parse(options.since);
      } else throw new UsageError(`--since: '${options.since}' is neither a sequence number nor an ISO 8601 time`);
    }
    const client = cli.client(command, ADMIN_TOKEN_VARIABLES);
    // The broker builds the records (export_audit); both formats carry the event time in epoch milliseconds.
    for (;;) {
      const page = await client.auditExport(after, 1000, format);
      for (const record of page.records) {
        const time = format === "ocsf" ? record.time : record.timeMs;
        if (typeof time === "number" && time >= fromTime) cli.print(JSON.stringify(record));
      }
      if (page.next === null || page.records.length === 0) break;
      after = page.next;
    }
  });
}
