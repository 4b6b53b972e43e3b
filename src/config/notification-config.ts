// The `notifications` section: signed webhooks for approvals, break-glass and alarms, and their retry backoff.
import { DEFAULTS, type NOTIFICATION_EVENTS } from "./defaults.js";
import { outboundUrlProblem } from "./outbound-url.js";
import type { ConfigReader } from "./reader.js";
import type { RawConfig } from "./schema.js";

export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

export interface WebhookConfig {
  readonly name: string;
  readonly url: string;
  readonly format: "json" | "slack";
  /** HMAC-SHA256 key for the `x-ephemera-signature` header; null sends unsigned (not recommended). */
  readonly secret: string | null;
  readonly events: readonly NotificationEvent[];
  readonly maxAttempts: number;
  readonly timeoutMs: number;
}

export interface NotificationsConfig {
  readonly webhooks: readonly WebhookConfig[];
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
}

type RawWebhooks = NonNullable<RawConfig["notifications"]>["webhooks"];

/** Webhooks with unique names, https URLs and a secret named by reference (at least 16 characters). */
export function webhooksConfig(raw: RawWebhooks, r: ConfigReader): WebhookConfig[] {
  const names = new Set<string>();
  const d = DEFAULTS.notifications.webhook;
  return (raw ?? []).map((hook, index) => {
    const at = `notifications.webhooks.${index}`;
    if (names.has(hook.name)) r.problems.push(`${at}.name: '${hook.name}' is used twice`);
    names.add(hook.name);
    const urlProblem = outboundUrlProblem(
      `${at}.url`,
      hook.url,
      hook.allowInsecureLoopback ?? DEFAULTS.allowInsecureLoopback,
    );
    if (urlProblem) r.problems.push(urlProblem);
    // A secret is named, never written in the file: only { env } or { file } is accepted.
    const isRef = typeof hook.secret === "object" && hook.secret !== null && !Array.isArray(hook.secret);
    const secret = hook.secret === undefined ? null : isRef ? r.secretRef(hook.secret, `${at}.secret`) : "";
    if (secret !== null && (typeof secret !== "string" || secret.length < 16)) {
      r.problems.push(`${at}.secret: must be { env: NAME } or { file: PATH } naming at least 16 characters`);
    }
    return {
      name: hook.name,
      url: hook.url,
      format: hook.format ?? d.format,
      secret: typeof secret === "string" ? secret : null,
      events: hook.events ?? d.events,
      maxAttempts: hook.maxAttempts ?? d.maxAttempts,
      timeoutMs: r.seconds(hook.timeout, `${at}.timeout`, d.timeout) * 1000,
    };
  });
}

export function notificationsConfig(
  raw: RawConfig["notifications"],
  webhooks: readonly WebhookConfig[],
  r: ConfigReader,
): NotificationsConfig {
  const d = DEFAULTS.notifications;
  return {
    webhooks,
    retryInitialMs: r.seconds(raw?.retryInitial, "notifications.retryInitial", d.retryInitial) * 1000,
    retryMaxMs: r.seconds(raw?.retryMax, "notifications.retryMax", d.retryMax) * 1000,
  };
}
