// The removal receipt: what revoke removed and ended, what verification saw, when, and whether the grant was ever used.
import { type Connector, type RevokeResponse, usageObservationOf } from "../../connectors/index.js";
import type {
  Grant,
  Millis,
  RemovalEvidence,
  RemovalReceipt,
  UsageObservation,
  UsageObservationMethod,
} from "../../domain/index.js";

/** What each way of observing usage looked at and what it can miss, as the receipt says it. */
const DETAIL: Readonly<Record<UsageObservationMethod, string>> = {
  definitive: "the target records every use of the account; never seen in use means never used",
  polled:
    "open sessions looked for every monitor.usage.interval and once before removal; a session between two looks is " +
    "not seen, so never seen does not mean unused",
  introspection:
    "use seen when a resource server introspects the token; a token verified offline against the JWKS is not seen, " +
    "so never seen does not mean unused",
  none: "the target cannot show use",
};

export function usageObservation(connector: Connector | undefined): UsageObservation {
  const method = usageObservationOf(connector);
  return { method, detail: DETAIL[method] };
}

/**
 * `unused` is claimed only where the observation could not have missed use (the target records every use) and the
 * credential was handed out; a grant seen in use is never unused, whatever the target. Polling sees open sessions only,
 * so one short query between two looks goes unseen: there, never seen is `null`, not `true`.
 */
function unusedOf(method: UsageObservationMethod, grant: Grant, firstUsedAt: Millis | null): boolean | null {
  if (firstUsedAt !== null) return false;
  if (grant.issuedAt === null || method !== "definitive") return null;
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
  const observation = usageObservation(connector);
  return {
    removed: removal?.removed ?? [],
    sessionsEnded: removal?.sessionsEnded ?? null,
    revokedAt,
    verification: null,
    verifiedAt: null,
    firstUsedAt: usage.firstUsedAt,
    lastUsedAt: usage.lastUsedAt,
    unused: unusedOf(observation.method, grant, usage.firstUsedAt),
    usageObservation: observation,
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
