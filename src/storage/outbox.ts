// The outbox port: notifications committed with the change they report, claimed for delivery, settled afterwards.
import type { Millis } from "../domain/index.js";
import type { ClaimRequest } from "./grants.js";

/** One notification to one webhook: `pending` until delivered, `dead` after its last failed attempt. */
export interface NotificationRecord {
  readonly id: string;
  /** The webhook's name. */
  readonly sink: string;
  readonly event: string;
  /** Non-secret JSON: what happened, to which request or grant. */
  readonly payload: Readonly<Record<string, unknown>>;
  readonly state: "pending" | "delivered" | "dead";
  readonly attempts: number;
  /** When the next delivery attempt is due; null once delivered or dead. */
  readonly nextAttemptAt: Millis | null;
  readonly lastError: string | null;
  readonly createdAt: Millis;
  readonly deliveredAt: Millis | null;
}

export interface Outbox {
  /**
   * Takes the notifications whose next attempt is due, earliest first, for one delivery attempt: each one's next
   * attempt moves to `now + leaseMs` in the same statement, so replicas sharing the store never deliver the same one
   * at once, and one a dead replica took is tried again once the lease lapses (delivery is at least once).
   */
  claimDueNotifications(request: ClaimRequest): Promise<readonly NotificationRecord[]>;
  /** Records a delivery attempt's outcome outside change sets: delivery is telemetry, not a state change. */
  settleNotification(notification: NotificationRecord): Promise<void>;
  listNotifications(filter: {
    readonly states?: readonly NotificationRecord["state"][];
    readonly after?: string;
    readonly limit: number;
  }): Promise<readonly NotificationRecord[]>;
}
