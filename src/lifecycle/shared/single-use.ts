// Single use of presented credentials: a workload token (and a DPoP proof) is claimed in the change set that records the
// decision it obtained, so a second request with it gets no decision at all, on this replica or any other.

import type { Identity } from "../../domain/index.js";
import { ConflictError, StateNamespace, type Write } from "../../storage/index.js";
import type { EphemeraError } from "../../support/index.js";
import type { LifecycleDeps, RequestMeta } from "./deps.js";
import { refuse } from "./refuse.js";

/** Store namespace of claimed credentials; rows expire with the credential and are purged after. */
export const SINGLE_USE_NAMESPACE = "auth.single_use";

/** A claimed credential: the request it was used for, and what it was (an authentication method, or `dpop`). */
interface SingleUseClaim {
  readonly requestId: string;
  readonly what: string;
  readonly claimedAt: number;
}

const claimed = new StateNamespace<SingleUseClaim>(SINGLE_USE_NAMESPACE);

/** The claims a request must take with its decision: one per single-use credential it presented. */
export function singleUseClaims(meta: RequestMeta, requestId: string, now: number): Write[] {
  const claims: Write[] = [];
  const take = (key: string, until: number, what: string): void => {
    // Never already lapsed: a claim that expires at once would let the next replay take it over.
    claims.push(claimed.claimOnce(key, { requestId, what, claimedAt: now }, Math.max(until, now + 1000), now));
  };
  const once = meta.authentication?.singleUse;
  if (once) take(once.key, once.until, meta.authentication?.method ?? "token");
  if (meta.proof) take(`dpop:${meta.proof.replayKey}`, meta.proof.until, "dpop");
  return claims;
}

/**
 * Commits a change set that carries single-use claims. A conflict on a claim means the credential was used before:
 * the replay is refused (401 `token_replayed`, audited) and nothing else is written.
 */
export async function commitClaimed(
  deps: LifecycleDeps,
  caller: Identity,
  meta: RequestMeta,
  claims: readonly Write[],
  run: () => Promise<unknown>,
): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!(error instanceof ConflictError) || claims.length === 0) throw error;
    throw await replayRefusal(deps, caller, meta, claims, error);
  }
}

async function replayRefusal(
  deps: LifecycleDeps,
  caller: Identity,
  meta: RequestMeta,
  claims: readonly Write[],
  conflict: ConflictError,
): Promise<EphemeraError | ConflictError> {
  // Make sure the conflict is the claim and not some other row: only then is it a replay.
  const now = deps.clock.now();
  let taken: string | null = null;
  const store = claimed.in(deps.store);
  for (const claim of claims) {
    if (claim.kind !== "claimOnce" || claim.namespace !== claimed.namespace) continue;
    const row = await store.get(claim.key);
    if (row && (row.expiresAt === null || row.expiresAt > now)) {
      // A stored value is not checked on read: one without `what` still means the claim is taken.
      taken = (row.value as Partial<typeof row.value> | null)?.what ?? "token";
      break;
    }
  }
  if (taken === null) return conflict;
  const dpop = taken === "dpop";
  return refuse(deps, caller, {
    auditCode: "auth.replayed",
    errorCode: "token_replayed",
    message: dpop
      ? "this DPoP proof was already used; make a fresh proof for each request"
      : "this workload token was already used to request access; each token issues once (fetch a fresh one)",
    data: {
      method: meta.authentication?.method ?? null,
      credentialIdHmac: dpop ? null : deps.auditHmac.tagOrNull(meta.authentication?.credentialId),
      sourceAddressHmac: deps.auditHmac.tagOrNull(meta.sourceAddress),
    },
  });
}
