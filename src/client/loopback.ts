// Whether a host names this machine's loopback interface: where the agent and `ephemera mcp` may speak plain http.
import { isIPv4 } from "node:net";

/** `localhost`, `::1` (bracketed as in a URL or not) or an IPv4 address in 127.0.0.0/8; never a name like `127.x.example`. */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (name === "localhost" || name === "::1") return true;
  return isIPv4(name) && name.startsWith("127.");
}
