// SPIFFE IDs (spiffe://trust-domain/path), parsed strictly as the SPIFFE ID specification defines them.

export interface SpiffeId {
  readonly id: string;
  readonly trustDomain: string;
  /** The path, with its leading slash; empty for the trust domain's own ID. */
  readonly path: string;
}

const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** The SPIFFE ID in `text`, or null when it is not one (upper-case domain, port, query, dot segments…). */
export function parseSpiffeId(text: unknown): SpiffeId | null {
  if (typeof text !== "string" || text.length > 2048 || !text.startsWith("spiffe://")) return null;
  const rest = text.slice("spiffe://".length);
  const slash = rest.indexOf("/");
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? "" : rest.slice(slash);
  if (!TRUST_DOMAIN.test(trustDomain)) return null;
  if (path !== "") {
    const segments = path.slice(1).split("/");
    for (const segment of segments) {
      if (!SEGMENT.test(segment) || segment === "." || segment === "..") return null;
    }
  }
  return { id: text, trustDomain, path };
}

export function isTrustDomain(text: unknown): text is string {
  return typeof text === "string" && TRUST_DOMAIN.test(text);
}
