// Loopback host names, for the few places that let a local test use plain http (an explicit opt-in per URL).

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** True for a URL's `hostname` that names this machine's loopback interface. */
export function isLoopbackHostname(hostname: string): boolean {
  return LOOPBACK.has(hostname);
}
