// Delivers the outbox to webhooks after the commit: signed, bounded in time, retried with backoff, and kept as a dead
// letter (audited, counted) after the last attempt. Nothing here can block or undo a decision.

import { severityOf } from "../audit/index.js";
import type { WebhookConfig } from "../config/index.js";
import type { NotificationRecord, Store } from "../storage/index.js";
import type { Clock, Logger } from "../support/index.js";
import { backoffDelay, describeError, Periodic, signature } from "../support/index.js";
import { webhookBody } from "./webhook-payload.js";

export type DeliveryOutcome = "delivered" | "retry" | "dead";

export interface DeliveryOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly webhooks: readonly WebhookConfig[];
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  readonly random?: () => number;
  readonly observe?: (outcome: DeliveryOutcome, sink: string) => void;
  /** Defaults to the global fetch. */
  readonly fetch?: typeof fetch;
}

const BATCH = 100;
/** Longer than a delivery attempt can take (its timeout), so a live replica's attempt is never taken over. */
const DELIVERY_LEASE_MS = 60_000;
const PARALLEL = 8;

export class WebhookDelivery {
  readonly #hooks: ReadonlyMap<string, WebhookConfig>;
  readonly #task: Periodic<number>;

  constructor(private readonly options: DeliveryOptions) {
    this.#hooks = new Map(options.webhooks.map((h) => [h.name, h]));
    this.#task = new Periodic(
      () => this.#pass(),
      (error) => options.logger.error({ err: describeError(error) }, "notification delivery pass failed"),
    );
  }

  start(intervalMs: number): void {
    if (this.#hooks.size > 0) this.#task.start(intervalMs);
  }

  stop(): Promise<void> {
    return this.#task.stop();
  }

  /** Attempts every notification due now; returns how many were attempted. */
  runOnce(): Promise<number> {
    return this.#task.runOnce();
  }

  async #pass(): Promise<number> {
    // Claimed for one attempt: another replica does not take them until the lease lapses (a replica that dies
    // mid-delivery leaves them to be tried again then).
    const due = await this.options.store.claimDueNotifications({
      now: this.options.clock.now(),
      limit: BATCH,
      leaseMs: DELIVERY_LEASE_MS,
    });
    let next = 0;
    const worker = async () => {
      while (next < due.length) await this.#attempt(due[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, due.length) }, worker));
    return due.length;
  }

  async #attempt(notification: NotificationRecord): Promise<void> {
    const { store, clock } = this.options;
    const hook = this.#hooks.get(notification.sink);
    const error = hook
      ? await this.#post(hook, notification)
      : `webhook '${notification.sink}' is no longer configured`;
    const now = clock.now();
    const attempts = notification.attempts + 1;
    if (error === null) {
      await store.settleNotification({
        ...notification,
        state: "delivered",
        attempts,
        nextAttemptAt: null,
        lastError: null,
        deliveredAt: now,
      });
      this.options.observe?.("delivered", notification.sink);
      return;
    }
    if (hook && attempts < hook.maxAttempts) {
      const delay = backoffDelay(
        attempts - 1,
        this.options.retryInitialMs,
        this.options.retryMaxMs,
        (this.options.random ?? Math.random)(),
      );
      await store.settleNotification({ ...notification, attempts, nextAttemptAt: now + delay, lastError: error });
      this.options.observe?.("retry", notification.sink);
      return;
    }
    // The last attempt failed: kept as a dead letter, with the alarm in the audit log and the metrics.
    const dead: NotificationRecord = {
      ...notification,
      state: "dead",
      attempts,
      nextAttemptAt: null,
      lastError: error,
    };
    await store.apply({
      writes: [{ kind: "settleNotification", notification: dead }],
      audit: [
        {
          time: now,
          code: "notification.dead_lettered",
          severity: severityOf("notification.dead_lettered"),
          outcome: "failure",
          actor: { type: "system", id: "notifier" },
          requestId: typeof notification.payload.requestId === "string" ? notification.payload.requestId : null,
          grantId: typeof notification.payload.grantId === "string" ? notification.payload.grantId : null,
          identityId: null,
          data: { notification: notification.id, sink: notification.sink, event: notification.event, attempts, error },
        },
      ],
    });
    this.options.observe?.("dead", notification.sink);
    this.options.logger.warn(
      { notification: notification.id, sink: notification.sink, error },
      "notification dead-lettered",
    );
  }

  /** POSTs one notification; null on a 2xx answer, otherwise what went wrong (never the secret or the body). */
  async #post(hook: WebhookConfig, notification: NotificationRecord): Promise<string | null> {
    const body = webhookBody(hook, notification);
    const timestamp = String(Math.floor(this.options.clock.now() / 1000));
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "ephemera-webhook",
      "x-ephemera-event": notification.event,
      "x-ephemera-delivery": notification.id,
      "x-ephemera-timestamp": timestamp,
    };
    if (hook.secret !== null) headers["x-ephemera-signature"] = signature(hook.secret, timestamp, body);
    try {
      const response = await (this.options.fetch ?? fetch)(hook.url, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.timeout(hook.timeoutMs),
        redirect: "manual",
      });
      await response.body?.cancel().catch(() => undefined);
      return response.ok ? null : `HTTP ${response.status}`;
    } catch (error) {
      return describeError(error);
    }
  }
}
