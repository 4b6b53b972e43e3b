// The signature on every outbound webhook (notifications and the SIEM audit stream), so receivers check one scheme.
import { createHmac } from "node:crypto";

/**
 * `sha256=<hex>` of HMAC-SHA256(secret, `<timestamp>.<body>`): the receiver recomputes it with the shared secret and
 * refuses a stale timestamp, so a captured delivery cannot be replayed later.
 */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}
