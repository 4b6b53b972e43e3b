// Outbox notifications as SQL rows: the payload as JSON text.
import type { NotificationRecord } from "../store.js";
import { columns } from "./columns.js";
import { toJson } from "./json.js";

export interface NotificationRow {
  id: string;
  sink: string;
  event: string;
  payload: string;
  state: string;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

export const NOTIFICATION_COLUMNS = columns<NotificationRow>({
  id: true,
  sink: true,
  event: true,
  payload: true,
  state: true,
  attempts: true,
  next_attempt_at: true,
  last_error: true,
  created_at: true,
  delivered_at: true,
});

export function notificationToRow(n: NotificationRecord): NotificationRow {
  return {
    id: n.id,
    sink: n.sink,
    event: n.event,
    payload: toJson(n.payload, "notification payload"),
    state: n.state,
    attempts: n.attempts,
    next_attempt_at: n.nextAttemptAt,
    last_error: n.lastError,
    created_at: n.createdAt,
    delivered_at: n.deliveredAt,
  };
}

export function rowToNotification(row: NotificationRow): NotificationRecord {
  return {
    id: row.id,
    sink: row.sink,
    event: row.event,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    state: row.state as NotificationRecord["state"],
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
  };
}
