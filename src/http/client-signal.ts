// Whether a person drives a call: the CLI says so (`x-ephemera-client: cli; interactive` when on a terminal), and a
// browser's user agent does too. Only a signal: a determined caller can fake or hide it, so policy may flag on it or
// forbid, but never trust it to grant.
import type { ClientSignal } from "../domain/types.js";

const BROWSER = /\b(Mozilla|Chrome|Safari|Firefox|Edg|Opera)\//;
/**
 * HTTP tools a person types or clicks: a workload token presented from one of these was most likely copied out of the
 * workload by a person. Libraries that automation uses (python-requests, Go's net/http, node fetch) are not listed.
 */
const TOOL = /^(curl|Wget|HTTPie|xh|PostmanRuntime|insomnia|Bruno|Paw|RapidAPI)\/|\bWindowsPowerShell\//i;

export function clientSignal(headers: Readonly<Record<string, string | string[] | undefined>>): ClientSignal {
  const declared = String(headers["x-ephemera-client"] ?? "").toLowerCase();
  const agent = String(headers["user-agent"] ?? "");
  if (declared.startsWith("cli")) return { kind: "cli", interactive: /\binteractive\b/.test(declared) };
  if (BROWSER.test(agent)) return { kind: "browser", interactive: true };
  // Not marked interactive (a pipeline may call curl), but named, so policy can flag a workload token used from it.
  if (TOOL.test(agent)) return { kind: "tool", interactive: false };
  return { kind: "api", interactive: false };
}
