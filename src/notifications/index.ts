// The notifications folder's public surface: what other src/ folders import from it.
export type { Notifier } from "./notifier.js";
export { OutboxNotifier } from "./notifier.js";
export { WebhookDelivery } from "./webhook-delivery.js";
