// The removal receipt: what revoke removed and ended, what verification saw, when, and whether the grant was ever used.
import type { Connector, RevokeResponse } from "../../connectors/connector.js";
import type { Grant, Millis, RemovalEvidence, RemovalReceipt } from "../../domain/types.js";

/**
 * `unused` is only claimed where the target can show use (the connector observes usage) and the credential was handed
 * out; a grant seen in use is never unused, whatever the target.
 */
function unusedOf(connector: Connector | undefined, grant: Grant, firstUsedAt: Millis | null): boolean | null {
  if (firstUsedAt !== null) return false;
  if (grant.issuedAt === null || connector?.observeUsage === undefined) return null;
  return true;
}

/** The receipt as revoke leaves it: removal and usage recorded, verification still to come. */
export function revokedReceipt(
  connector: Connector | undefined,
  grant: Grant,
  removal: RevokeResponse | null,
  revokedAt: Millis,
  usage: Pick<Grant, "firstUsedAt" | "lastUsedAt">,
): RemovalReceipt {
  return {
    removed: removal?.removed ?? [],
    sessionsEnded: removal?.sessionsEnded ?? null,
    revokedAt,
    verification: null,
    verifiedAt: null,
    firstUsedAt: usage.firstUsedAt,
    lastUsedAt: usage.lastUsedAt,
    unused: unusedOf(connector, grant, usage.firstUsedAt),
  };
}

/** The completed receipt: the verification that proved removal. A grant revoked before receipts existed gets one too. */
export function verifiedReceipt(
  connector: Connector | undefined,
  grant: Grant,
  evidence: RemovalEvidence,
  verifiedAt: Millis,
): RemovalReceipt {
  const started = grant.receipt ?? revokedReceipt(connector, grant, null, grant.revokedAt ?? verifiedAt, grant);
  return { ...started, verification: evidence, verifiedAt };
}
