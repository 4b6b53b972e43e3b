// What a webhook receives: the event as JSON, or a Slack-compatible `{ text }` message.
import type { WebhookConfig } from "../config/index.js";
import type { NotificationRecord } from "../storage/index.js";

const str = (v: unknown): string =>
  typeof v === "string" ? v : v === undefined || v === null ? "-" : JSON.stringify(v);

/** One line a person reads in a chat channel; every value is non-secret by construction of the payload. */
export function slackText(event: string, p: Readonly<Record<string, unknown>>): string {
  const who = `*${str(p.identity)}*`;
  const what = `*${str(p.entitlement)}*`;
  switch (event) {
    case "approval_pending": {
      const rules = Array.isArray(p.approvers)
        ? (p.approvers as { group: string; count: number }[]).map((r) => `${r.count} from ${r.group}`).join(" and ")
        : "-";
      return `:hourglass: ${who} asks for ${what} for ${str(p.durationSeconds)}s (ticket ${str(p.ticket)}): needs ${rules}. \`ephemera approve ${str(p.requestId)}\``;
    }
    case "break_glass":
      return `:rotating_light: BREAK-GLASS: ${who} took ${what} for ${str(p.durationSeconds)}s. Why: ${str(p.justification)}. Review due ${str(p.reviewDueAt)}: \`ephemera review ${str(p.requestId)} --outcome justified|unjustified\``;
    case "review_overdue":
      return `:warning: the review of break-glass request ${str(p.requestId)} (${who} on ${what}) is overdue since ${str(p.reviewDueAt)}`;
    case "removal_failed":
      return `:x: removing grant ${str(p.grantId)} (${who} on ${what}) failed, attempt ${str(p.attempts)}: ${str(p.error)}. Retrying at ${str(p.nextAttemptAt)}`;
    case "request_flagged":
      return `:triangular_flag_on_post: request ${str(p.requestId)} by ${who} for ${what} was flagged: ${str(p.flags)} (client ${str(p.client)})`;
    default:
      return `${event}: ${JSON.stringify(p)}`;
  }
}

export function webhookBody(hook: WebhookConfig, notification: NotificationRecord): string {
  if (hook.format === "slack") return JSON.stringify({ text: slackText(notification.event, notification.payload) });
  return JSON.stringify({ id: notification.id, ...notification.payload, event: notification.event });
}
