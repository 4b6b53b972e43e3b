// Whether a person drives a call: the CLI says so (`x-ephemera-client: cli; interactive` when on a terminal), and a
// browser's user agent does too. Only a signal: a determined caller can fake or hide it, so policy may flag on it or
// forbid, but never trust it to grant.
//
// `ephemera mcp` declares `x-ephemera-client: mcp` and adds what the AI agent's MCP client says of itself
// (`x-ephemera-client-name`, `x-ephemera-client-version`), the tool call behind the request (`x-ephemera-tool-call`)
// and whether the credential will be shown to the model (`x-ephemera-reveal: true`): policy can read them and the
// audit event records them. Self-declared like the rest.
import type { ClientSignal } from "../domain/index.js";

const BROWSER = /\b(Mozilla|Chrome|Safari|Firefox|Edg|Opera)\//;
/**
 * HTTP tools a person types or clicks: a workload token presented from one of these was most likely copied out of the
 * workload by a person. Libraries that automation uses (python-requests, Go's net/http, node fetch) are not listed.
 */
const TOOL = /^(curl|Wget|HTTPie|xh|PostmanRuntime|insomnia|Bruno|Paw|RapidAPI)\/|\bWindowsPowerShell\//i;
/** Longest name, version or tool call id kept; longer values are cut (they are labels, not data). */
const DETAIL_MAX = 128;

type Headers = Readonly<Record<string, string | string[] | undefined>>;

export function clientSignal(headers: Headers): ClientSignal {
  const declared = String(headers["x-ephemera-client"] ?? "").toLowerCase();
  const agent = String(headers["user-agent"] ?? "");
  if (declared.startsWith("cli")) return { kind: "cli", interactive: /\binteractive\b/.test(declared) };
  if (declared.startsWith("mcp")) return { kind: "mcp", interactive: false, ...declaredDetails(headers) };
  if (BROWSER.test(agent)) return { kind: "browser", interactive: true };
  // Not marked interactive (a pipeline may call curl), but named, so policy can flag a workload token used from it.
  if (TOOL.test(agent)) return { kind: "tool", interactive: false };
  return { kind: "api", interactive: false };
}

/** The MCP client's name and version, the tool call id and the reveal flag, as printable text of bounded length. */
function declaredDetails(headers: Headers): Pick<ClientSignal, "name" | "version" | "toolCallId" | "reveal"> {
  const text = (name: string): string | undefined => {
    const raw = headers[name];
    if (typeof raw !== "string") return undefined;
    const clean = raw
      .replace(/[^\x20-\x7e]/g, "")
      .trim()
      .slice(0, DETAIL_MAX);
    return clean === "" ? undefined : clean;
  };
  const name = text("x-ephemera-client-name");
  const version = text("x-ephemera-client-version");
  const toolCallId = text("x-ephemera-tool-call");
  return {
    ...(name === undefined ? {} : { name }),
    ...(version === undefined ? {} : { version }),
    ...(toolCallId === undefined ? {} : { toolCallId }),
    ...(text("x-ephemera-reveal")?.toLowerCase() === "true" ? { reveal: true } : {}),
  };
}
