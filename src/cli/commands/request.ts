// `ephemera request <entitlement>`: ask for access and print the credential (the caller's own, shown once).
import type { Command } from "commander";
import { checkIdempotencyKey, EphemeraConfigError, isPending, isReplay, loadDpopKeyFile } from "../../client/index.js";
import type { Cli } from "../context.js";
import { withConnection } from "../context.js";
import { UsageError } from "../exit-codes.js";
import { assignments, durationOf } from "../format.js";

/** `--intent` alone stays free text; with `--task` or `--action` it becomes a structured intent. */
export function intentOption(options: { intent?: string; task?: string; action?: string[] }) {
  if (options.task === undefined && options.action === undefined) {
    return options.intent === undefined ? {} : { intent: options.intent };
  }
  return {
    intent: {
      ...(options.task === undefined ? {} : { task: options.task }),
      ...(options.action === undefined ? {} : { actions: options.action }),
      ...(options.intent === undefined ? {} : { description: options.intent }),
    },
  };
}

interface RequestOptions {
  dpop?: string;
  duration?: string;
  justification?: string;
  ticket?: string;
  intent?: string;
  task?: string;
  action?: string[];
  breakGlass?: boolean;
  idempotencyKey?: string;
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
      .option("--task <id>", "the task id (agent intent; carried into tokens as authorization_details)")
      .option("--action <action>", "an action the task needs (repeat for several)", (v: string, all: string[] = []) => [
        ...all,
        v,
      ])
      .option("--break-glass", "emergency access where policy permits break_glass: issued at once, reviewed after")
      .option(
        "--idempotency-key <key>",
        "name this request for retries: the same key and request within 24 h make no second grant (and print no credential)",
      )
      .option("--dpop <keyFile>", "bind the credential to this private JWK (RFC 9449 proofs); created 0600 if absent")
      .option("--json", "print the whole response as JSON"),
  ).action(async (entitlement: string, options: RequestOptions, command: Command) => {
    const duration = durationOf(options.duration);
    const idempotency = idempotencyOption(options.idempotencyKey);
    const dpop = options.dpop === undefined ? {} : { dpop: await loadDpopKeyFile(options.dpop, { create: true }) };
    const result = await cli.client(command, undefined, dpop).request(
      {
        entitlement,
        ...(duration === undefined ? {} : { duration }),
        ...(options.justification === undefined ? {} : { justification: options.justification }),
        ...(options.ticket === undefined ? {} : { ticket: options.ticket }),
        ...intentOption(options),
        ...(options.breakGlass ? { breakGlass: true } : {}),
      },
      idempotency,
    );
    if (options.json) {
      cli.json(result);
      return;
    }
    if (isPending(result)) {
      const rules = result.request.decision?.approvers.map((r) => `${r.count} from ${r.group}`).join(" and ") ?? "";
      cli.print(`# request ${result.request.id} is pending approval (${rules}) until ${result.request.dueAt ?? "-"}`);
      cli.print(`# once approved: ephemera collect ${result.request.id}`);
      return;
    }
    if (isReplay(result)) {
      const grant = result.grant;
      cli.print(`# request ${result.request.id} was already made with this idempotency key (${result.request.state})`);
      if (grant)
        cli.print(`# grant ${grant.id} (${grant.entitlement}) is ${grant.state}, expires ${grant.expiresAt ?? "-"}`);
      cli.print("# its credential was shown to the first attempt only; the broker does not keep it");
      return;
    }
    const { grant, credential } = result;
    cli.print(`# grant ${grant.id} (${grant.entitlement}) expires ${grant.expiresAt ?? "-"}`);
    if (result.request.breakGlass) {
      cli.print(
        `# break-glass ${result.request.id}: an approver must review it by ${result.request.review?.dueAt ?? "-"}`,
      );
    }
    cli.print(`# end it when done: ephemera complete ${grant.id}`);
    for (const line of assignments(credential.fields)) cli.print(line);
  });
}

/** `--idempotency-key`, checked as the broker checks it so a bad key is a usage error before anything is sent. */
function idempotencyOption(key: string | undefined): { idempotencyKey?: string } {
  if (key === undefined) return {};
  try {
    checkIdempotencyKey(key);
  } catch (error) {
    if (error instanceof EphemeraConfigError)
      throw new UsageError(`--idempotency-key: ${error.message.replace(/^idempotencyKey: /, "")}`);
    throw error;
  }
  return { idempotencyKey: key };
}
