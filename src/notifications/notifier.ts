// The notification port: events worth a person's attention, written to the outbox in the same commit as the state
// change they report, and delivered afterwards, so a webhook outage never blocks or undoes a decision.
import type { NotificationEvent, WebhookConfig } from "../config/index.js";
import type { Millis } from "../domain/index.js";
import type { Write } from "../storage/index.js";
import { newId } from "../support/index.js";

export type { NotificationEvent } from "../config/index.js";

export interface Notifier {
  /** Outbox rows for `event`, one per sink that subscribes to it; empty when none does. */
  writes(event: NotificationEvent, payload: Readonly<Record<string, unknown>>, now: Millis): Write[];
}

/** Writes one outbox row per subscribed webhook. */
export class OutboxNotifier implements Notifier {
  constructor(private readonly webhooks: readonly WebhookConfig[]) {}

  writes(event: NotificationEvent, payload: Readonly<Record<string, unknown>>, now: Millis): Write[] {
    return this.webhooks
      .filter((hook) => hook.events.includes(event))
      .map((hook) => ({
        kind: "insertNotification" as const,
        notification: {
          id: newId("ntf"),
          sink: hook.name,
          event,
          payload: { event, at: new Date(now).toISOString(), ...payload },
          state: "pending" as const,
          attempts: 0,
          nextAttemptAt: now,
          lastError: null,
          createdAt: now,
          deliveredAt: null,
        },
      }));
  }
}
