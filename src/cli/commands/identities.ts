// `ephemera identities`, `ephemera offboard`, `ephemera reactivate`: the identity inventory and its lifecycle (admins).
import type { Command } from "commander";
import type { IdentityStatus, IdentityView } from "../../client/index.js";
import type { Cli } from "../context.js";
import { withConnection } from "../context.js";
import { UsageError } from "../exit-codes.js";
import { integerOption, table } from "../format.js";

/** Admin commands prefer the admin key, as the audit commands do. */
const ADMIN_TOKENS = ["EPHEMERA_ADMIN_TOKEN", "EPHEMERA_TOKEN"] as const;
const STATUSES: readonly IdentityStatus[] = ["active", "dormant", "offboarded"];

interface IdentitiesOptions {
  status?: string;
  kind?: string;
  owner?: string;
  unowned?: boolean;
  after?: string;
  limit?: number;
  json?: boolean;
}

function details(i: IdentityView): string {
  const rows: [string, string][] = [
    ["id", i.id],
    ["kind", i.kind],
    ["owner", i.owner ?? (i.unowned ? "NONE (unowned non-human identity)" : "-")],
    ["groups", i.groups.join(", ") || "-"],
    [
      "attributes",
      Object.entries(i.attributes)
        .map(([k, v]) => `${k}=${v}`)
        .join(", ") || "-",
    ],
    ["admin", String(i.admin)],
    ["status", i.statusReason ? `${i.status} (${i.statusReason})` : i.status],
    ["source", i.source],
    ["first seen", i.firstSeenAt ?? "never"],
    ["last seen", i.lastSeenAt ?? "never"],
    ["active grants", i.activeGrants === 0 ? "0" : `${i.activeGrants}: ${i.activeGrantIds.join(", ")}`],
  ];
  return rows.map(([k, v]) => `${`${k}:`.padEnd(15)}${v}`).join("\n");
}

export function registerIdentities(program: Command, cli: Cli): void {
  withConnection(
    program
      .command("identities")
      .description("the identity inventory (admins): kind, owner, status, last seen, active grants")
      .argument("[id]", "show one identity in full")
      .option("--status <statuses>", "comma-separated: active, dormant, offboarded")
      .option("--kind <kinds>", "comma-separated: service_account, workload, pipeline, agent, human")
      .option("--owner <owner>", "only identities this person or team owns")
      .option("--unowned", "only non-human identities without an owner")
      .option("--after <id>", "the page after this identity id")
      .option("--limit <n>", "at most this many (1-500, default 100)", integerOption(1, 500))
      .option("--json", "print JSON"),
  ).action(async (id: string | undefined, options: IdentitiesOptions, command: Command) => {
    const client = cli.client(command, ADMIN_TOKENS);
    if (id !== undefined) {
      const identity = await client.getIdentity(id);
      if (options.json) cli.json(identity);
      else cli.print(details(identity));
      return;
    }
    const statuses = options.status?.split(",").map((s) => s.trim()) ?? [];
    const unknown = statuses.find((s) => !STATUSES.includes(s as IdentityStatus));
    if (unknown !== undefined)
      throw new UsageError(`--status: unknown status '${unknown}' (one of ${STATUSES.join(", ")})`);
    const page = await client.listIdentities({
      ...(statuses.length > 0 ? { status: statuses as IdentityStatus[] } : {}),
      ...(options.kind === undefined ? {} : { kind: options.kind.split(",").map((k) => k.trim()) }),
      ...(options.owner === undefined ? {} : { owner: options.owner }),
      ...(options.unowned ? { unowned: true } : {}),
      ...(options.after === undefined ? {} : { after: options.after }),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
    });
    if (options.json) {
      cli.json(page);
      return;
    }
    if (page.identities.length === 0) {
      cli.print("no identities");
      return;
    }
    cli.print(
      table(
        ["ID", "KIND", "OWNER", "STATUS", "LAST SEEN", "GRANTS"],
        page.identities.map((i) => [
          i.id,
          i.kind,
          i.owner ?? (i.unowned ? "NONE!" : "-"),
          i.status,
          i.lastSeenAt ?? "never",
          String(i.activeGrants),
        ]),
      ),
    );
    if (page.next !== null) cli.print(`more: ephemera identities --after ${page.next}`);
  });

  withConnection(
    program
      .command("offboard")
      .description("disable an identity for good: end every grant it holds, cancel its open requests (admins)")
      .argument("<id>")
      .requiredOption("--reason <text>", "why (kept in the audit log)")
      .option("--json", "print the result as JSON"),
  ).action(async (id: string, options: { reason: string; json?: boolean }, command: Command) => {
    const result = await cli.client(command, ADMIN_TOKENS).offboardIdentity(id, options.reason);
    if (options.json) {
      cli.json(result);
      return;
    }
    if (!result.changed) {
      cli.print(`identity ${id} was already offboarded; nothing left to end`);
    } else {
      cli.print(`identity ${id} offboarded (correlation ${result.correlationId})`);
      const verified = result.grants.filter((g) => g.state === "verified").length;
      cli.print(`grants ended: ${result.grants.length} (removal verified: ${verified})`);
      cli.print(`requests cancelled: ${result.cancelledRequests.length}`);
    }
    for (const g of result.grants.filter((g) => g.state !== "verified")) {
      cli.warn(`removal not verified yet, the scheduler retries it: ${g.id} on ${g.target} (${g.state})`);
    }
    for (const g of result.inProgress) cli.warn(`grant already being removed or issued: ${g.id} (${g.state})`);
    // Not done until every removal is verified: scripts can tell (exit 1) and run it again or watch the grants.
    if (result.removalsPending > 0) cli.exitCode = 1;
  });

  withConnection(
    program
      .command("reactivate")
      .description("bring a dormant identity back (admins); an offboarded one cannot be")
      .argument("<id>")
      .requiredOption("--reason <text>", "why (kept in the audit log)")
      .option("--json", "print the identity as JSON"),
  ).action(async (id: string, options: { reason: string; json?: boolean }, command: Command) => {
    const identity = await cli.client(command, ADMIN_TOKENS).reactivateIdentity(id, options.reason);
    if (options.json) cli.json(identity);
    else cli.print(`identity ${identity.id} is ${identity.status}`);
  });
}
