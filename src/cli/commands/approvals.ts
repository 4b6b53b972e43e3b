// `ephemera requests`, `approve`, `deny`, `cancel`, `collect` and `review`: the approval workflow from the command line.
import type { Command } from "commander";
import type { AccessRequest } from "../../client/index.js";
import type { Cli } from "../context.js";
import { withConnection } from "../context.js";
import { UsageError } from "../exit-codes.js";
import { assignments, integerOption, table } from "../format.js";

/** Approvers use EPHEMERA_APPROVER_TOKEN when set (the demo writes one), else EPHEMERA_TOKEN. */
const APPROVER_TOKEN_VARIABLES = ["EPHEMERA_APPROVER_TOKEN", "EPHEMERA_TOKEN"] as const;

export function requestSummary(r: AccessRequest): string {
  const rows: [string, string][] = [
    ["id", r.id],
    ["identity", r.identity],
    ["entitlement", r.entitlement],
    ["duration", `${r.durationSeconds}s`],
    ["state", r.state + (r.stateReason ? ` (${r.stateReason})` : "")],
    ["justification", r.justification ?? "-"],
    ["ticket", r.ticket ?? "-"],
  ];
  if (r.intent)
    rows.push([
      "intent",
      `task ${r.intent.task ?? "-"}; actions ${r.intent.actions.join(", ") || "-"}; ${r.intent.description ?? ""}`,
    ]);
  if (r.breakGlass)
    rows.push(["break-glass", `yes; review ${r.review?.outcome ?? "not recorded"}, due ${r.review?.dueAt ?? "-"}`]);
  if (r.decision) {
    const rules = r.decision.approvers.map((a) => `${a.count} from ${a.group}`).join(" and ") || "auto";
    rows.push(["approval", rules], ["policies", r.decision.policies.join(", ") || "-"]);
  }
  for (const a of r.approvals)
    rows.push(["approved by", `${a.approver} at ${a.at ?? "-"}${a.current ? "" : " (void: request changed)"}`]);
  rows.push(["hash", r.requestHash]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${v}`).join("\n");
}

export function registerApprovals(program: Command, cli: Cli): void {
  withConnection(
    program
      .command("requests")
      .description("list requests: yours, and with --pending those waiting for you to approve")
      .option("--pending", "only pending requests (an approver's queue)")
      .option("--state <states>", "comma-separated: pending, approved, denied, cancelled, timed_out, issued, failed")
      .option("--after <requestId>", "the page after this request id")
      .option("--limit <n>", "at most this many (1-500, default 100)", integerOption(1, 500))
      .option("--json", "print JSON"),
  ).action(
    async (
      options: { pending?: boolean; state?: string; after?: string; limit?: number; json?: boolean },
      command: Command,
    ) => {
      const state = options.pending ? "pending" : options.state;
      const page = await cli.client(command, APPROVER_TOKEN_VARIABLES).listRequests({
        ...(state === undefined ? {} : { state: state.split(",").map((s) => s.trim()) }),
        ...(options.after === undefined ? {} : { after: options.after }),
        ...(options.limit === undefined ? {} : { limit: options.limit }),
      });
      if (options.json) {
        cli.json(page);
        return;
      }
      if (page.requests.length === 0) {
        cli.print("no requests");
        return;
      }
      cli.print(
        table(
          ["ID", "IDENTITY", "ENTITLEMENT", "STATE", "APPROVALS", "DUE"],
          page.requests.map((r) => [
            r.id,
            r.identity,
            r.entitlement,
            r.state,
            `${r.approvals.filter((a) => a.current).length}/${r.decision?.approvers.reduce((n, a) => n + a.count, 0) ?? 0}`,
            r.dueAt ?? "-",
          ]),
        ),
      );
      if (page.next !== null) cli.print(`more: ephemera requests --after ${page.next}`);
    },
  );

  withConnection(
    program
      .command("approve")
      .description("approve a pending request as it is now (prints what you approved)")
      .argument("<requestId>")
      .option("--note <text>", "a note kept with the approval")
      .option(
        "--hash <requestHash>",
        "approve only if the request still has this hash (from `ephemera requests --json`)",
      )
      .option("--json", "print JSON"),
  ).action(async (id: string, options: { note?: string; hash?: string; json?: boolean }, command: Command) => {
    const client = cli.client(command, APPROVER_TOKEN_VARIABLES);
    const { request } = await client.getRequest(id);
    // The approval binds to the hash of what was read here (or given): a change meanwhile is refused by the broker.
    const result = await client.approve(id, options.hash ?? request.requestHash, options.note);
    if (options.json) {
      cli.json(result);
      return;
    }
    cli.print(requestSummary(request));
    cli.print(
      result.request.state === "approved"
        ? `approved: quorum met; the requester collects with 'ephemera collect ${id}'`
        : "approval recorded; more approvals are needed",
    );
  });

  withConnection(
    program
      .command("deny")
      .description("deny a pending request")
      .argument("<requestId>")
      .option("--reason <text>", "told to the requester")
      .option("--json", "print JSON"),
  ).action(async (id: string, options: { reason?: string; json?: boolean }, command: Command) => {
    const result = await cli.client(command, APPROVER_TOKEN_VARIABLES).deny(id, options.reason);
    if (options.json) cli.json(result);
    else cli.print(`request ${id} denied`);
  });

  withConnection(
    program
      .command("cancel")
      .description("withdraw your pending (or approved, uncollected) request")
      .argument("<requestId>")
      .option("--json", "print JSON"),
  ).action(async (id: string, options: { json?: boolean }, command: Command) => {
    const result = await cli.client(command).cancel(id);
    if (options.json) cli.json(result);
    else cli.print(`request ${id} cancelled`);
  });

  withConnection(
    program
      .command("collect")
      .description("collect the credential of your approved request (once)")
      .argument("<requestId>")
      .option("--json", "print the whole response as JSON"),
  ).action(async (id: string, options: { json?: boolean }, command: Command) => {
    const result = await cli.client(command).collect(id);
    if (options.json) {
      cli.json(result);
      return;
    }
    cli.print(`# grant ${result.grant.id} (${result.grant.entitlement}) expires ${result.grant.expiresAt ?? "-"}`);
    cli.print(`# end it when done: ephemera complete ${result.grant.id}`);
    for (const line of assignments(result.credential.fields)) cli.print(line);
  });

  withConnection(
    program
      .command("review")
      .description("record the review of a break-glass use")
      .argument("<requestId>")
      .requiredOption("--outcome <outcome>", "justified or unjustified")
      .option("--note <text>", "what the review found")
      .option("--json", "print JSON"),
  ).action(async (id: string, options: { outcome: string; note?: string; json?: boolean }, command: Command) => {
    if (options.outcome !== "justified" && options.outcome !== "unjustified") {
      throw new UsageError("--outcome must be justified or unjustified");
    }
    const result = await cli.client(command, APPROVER_TOKEN_VARIABLES).review(id, options.outcome, options.note);
    if (options.json) cli.json(result);
    else cli.print(`break-glass request ${id} reviewed: ${options.outcome}`);
  });
}
