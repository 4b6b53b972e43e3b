// Whether a person drives a call: the CLI says so (`x-ephemera-client: cli; interactive` when on a terminal), and a
// browser's user agent does too. Only a signal: a determined caller can fake or hide it, so policy may flag on it or
// forbid, but never trust it to grant.
import type { ClientSignal } from "../domain/types.js";

const BROWSER = /\b(Mozilla|Chrome|Safari|Firefox|Edg|Opera)\//;

export function clientSignal(headers: Readonly<Record<string, string | string[] | undefined>>): ClientSignal {
  const declared = String(headers["x-ephemera-client"] ?? "").toLowerCase();
  const agent = String(headers["user-agent"] ?? "");
  if (declared.startsWith("cli")) return { kind: "cli", interactive: /\binteractive\b/.test(declared) };
  if (BROWSER.test(agent)) return { kind: "browser", interactive: true };
  return { kind: "api", interactive: false };
}
