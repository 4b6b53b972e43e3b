// The MCP tools an AI agent sees: names, descriptions and argument schemas written for a model. Arguments are typed
// loosely on purpose: the broker validates them and its problem code (unknown_entitlement, duration_too_long,
// invalid_request…) is what the model gets back, the same code a person would see.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { ClientInfo } from "./broker-auth.js";
import { toolErrorResult } from "./errors.js";
import type { ToolAnswer } from "./present.js";
import type { AccessAsk, AccessSession, CallContext } from "./session.js";

const Intent = z
  .object({
    task: z.string().describe("the task id this access is for, e.g. a ticket: T-42"),
    actions: z
      .array(z.string())
      .describe(
        'every action the task will take with this access, e.g. ["orders.select"]; letters, digits and _.:/*- only',
      ),
    description: z.string().optional().describe("one sentence a human approver will read"),
  })
  .describe("what the task is and exactly which actions it needs; policy decides on it and renewals may not exceed it");

const Duration = z
  .union([z.string(), z.number()])
  .describe('how long, e.g. "15m", "1h" or seconds; ask for the least the task needs (default: the entitlement\'s)');

const Id = z.string().describe("a grantId (grt_…) or requestId (req_…) from request_access");

/** The intent as the client sends it: `description` only when the model gave one (exact optional properties). */
function intentOf(intent: z.infer<typeof Intent>): NonNullable<AccessAsk["intent"]> {
  return {
    task: intent.task,
    actions: intent.actions,
    ...(intent.description === undefined ? {} : { description: intent.description }),
  };
}

/** Runs a tool body; every failure becomes an MCP tool error with a code, never a thrown protocol error or a crash. */
async function answer(run: () => Promise<ToolAnswer>) {
  try {
    const done = await run();
    return { content: [{ type: "text" as const, text: done.text }], structuredContent: done.data };
  } catch (error) {
    return toolErrorResult(error);
  }
}

export function buildMcpServer(session: AccessSession, version: string): McpServer {
  const server = new McpServer(
    { name: "ephemera", version },
    {
      instructions:
        "Just-in-time access to databases and APIs through the Ephemera broker. Ask for access only for the task at " +
        "hand (request_access with its intent), use the credential from the sink file the result names (it is not " +
        "in your context), and call complete_access as soon as the task is done. Writes usually need a human's " +
        "approval: when request_access answers pending, tell the user and check again with access_status.",
    },
  );
  const call = (requestId: string | number): CallContext => {
    const info = server.server.getClientVersion();
    const client: ClientInfo | null = info ? { name: info.name, version: info.version } : null;
    return { client, toolCallId: String(requestId) };
  };

  server.registerTool(
    "list_entitlements",
    {
      title: "List what I may ask for",
      description:
        "Lists the access this agent may request, decided by the broker's policy for this agent now: each entitlement's " +
        "name (target/name), maximum duration in seconds, and whether a human must approve it. Pass the task and actions " +
        "you intend to declare (and a justification) when policy depends on them.",
      inputSchema: {
        task: z.string().optional().describe("the task id you will declare"),
        actions: z.array(z.string()).optional().describe("the actions you will declare"),
        justification: z.string().optional().describe("the justification you will give"),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args, extra) =>
      answer(async () => {
        const entitlements = await session.listEntitlements(
          {
            ...(args.task === undefined ? {} : { task: args.task }),
            ...(args.actions === undefined ? {} : { actions: args.actions }),
            ...(args.justification === undefined ? {} : { justification: args.justification }),
          },
          call(extra.requestId),
        );
        const lines = entitlements.map(
          (e) =>
            `${e.name}: up to ${e.maxDurationSeconds}s, ${e.approval === "auto" ? "issued at once" : "needs human approval"}`,
        );
        return {
          data: { entitlements: entitlements.map((e) => ({ ...e })) },
          text: lines.length > 0 ? lines.join("\n") : "Nothing may be requested with what was given.",
        };
      }),
  );

  server.registerTool(
    "request_access",
    {
      title: "Request task-scoped access",
      description:
        "Requests short-lived access to one entitlement for one task. When policy approves at once, the credential is " +
        "written to a sink file (0600) and the result gives its path, the grant id and the expiry; the secret itself " +
        "is not returned. When a human must approve, the result is status 'pending' with the request id: tell the " +
        "user and check with access_status. Errors carry the broker's code (unknown_entitlement, duration_too_long, " +
        "denied, invalid_request…).",
      inputSchema: {
        entitlement: z.string().describe("target/name from list_entitlements, e.g. orders/read"),
        duration: Duration.optional(),
        intent: Intent,
        justification: z.string().optional().describe("why this access is needed, for policy and the approver"),
        ticket: z.string().optional().describe("the change or incident ticket, if any"),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    (args, extra) =>
      answer(() =>
        session.requestAccess(
          {
            entitlement: args.entitlement,
            duration: args.duration,
            intent: intentOf(args.intent),
            justification: args.justification,
            ticket: args.ticket,
          },
          call(extra.requestId),
        ),
      ),
  );

  server.registerTool(
    "access_status",
    {
      title: "Check a request or grant",
      description:
        "The state of a request (pending, approved, denied…, with approvals given so far) or of a grant (active, time " +
        "left, ended, removal verified). A pending request of this session that has been approved is collected now: " +
        "its credential is written to the sink and the result is the active grant.",
      inputSchema: { id: Id },
      annotations: { readOnlyHint: false, idempotentHint: true, openWorldHint: false },
    },
    (args, extra) => answer(() => session.status(args.id, call(extra.requestId))),
  );

  server.registerTool(
    "complete_access",
    {
      title: "Finish with access",
      description:
        "The task is done: ends the grant now, deletes its sink file and returns the broker's receipt (what was " +
        "removed, sessions ended, the checks that verified removal). Always call this when finished.",
      inputSchema: { grantId: z.string().describe("the grantId request_access returned") },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    (args, extra) => answer(() => session.complete(args.grantId, call(extra.requestId))),
  );

  server.registerTool(
    "renew_access",
    {
      title: "Extend access for the same task",
      description:
        "Extends an active grant of this session for the same task, up to its maximum. An intent with actions beyond " +
        "those granted is refused (intent_exceeded): request new access for new actions instead.",
      inputSchema: {
        grantId: z.string().describe("the grantId request_access returned"),
        duration: Duration.optional(),
        intent: Intent.optional(),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (args, extra) =>
      answer(() =>
        session.renew(
          args.grantId,
          {
            duration: args.duration,
            intent: args.intent === undefined ? undefined : intentOf(args.intent),
          },
          call(extra.requestId),
        ),
      ),
  );

  return server;
}
