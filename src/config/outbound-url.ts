// URLs the broker POSTs to (notification webhooks, the checkpoint webhook, the audit stream): HTTPS only, so events,
// signatures and approval links never cross a network in the clear. Plain http is allowed to a loopback address, and
// only when that URL opts in with `allowInsecureLoopback: true` (a test's local receiver).
import { isLoopbackHostname } from "../support/index.js";

const INSECURE = "must be https (http is allowed only to a loopback address, with allowInsecureLoopback: true)";

/** The problem with an outbound URL, as `<path>: …`, or null when it is acceptable. */
export function outboundUrlProblem(path: string, url: string, allowInsecureLoopback: boolean): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${path}: must be a URL`;
  }
  if (parsed.protocol === "https:") return null;
  if (parsed.protocol === "http:" && allowInsecureLoopback && isLoopbackHostname(parsed.hostname)) return null;
  return `${path}: ${INSECURE}`;
}
