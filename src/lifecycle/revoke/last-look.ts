// The last look at a grant's usage just before its removal: after it the sessions are gone and nothing could be seen.
import type { Connector } from "../../connectors/index.js";
import type { Grant } from "../../domain/index.js";
import { describeError } from "../../support/index.js";
import type { LifecycleDeps } from "../shared/deps.js";

/** The last look may delay a removal by this much at most; a slower target is not asked (the interval's looks stand). */
const LAST_LOOK_MS = 2_000;

async function withinLastLook<T>(look: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${LAST_LOOK_MS} ms`)), LAST_LOOK_MS);
  });
  try {
    return await Promise.race([look, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The last look before removal: after it the sessions are gone and nothing could be seen. Returns the grant's usage
 * as stored afterwards (the poller may have recorded earlier use). Never fails the removal: usage is telemetry.
 */
export async function lastLook(
  deps: LifecycleDeps,
  connector: Connector,
  grant: Grant,
): Promise<Pick<Grant, "firstUsedAt" | "lastUsedAt">> {
  try {
    // Use the broker saw itself (introspection) and has not written yet goes in first.
    await deps.usage?.flush();
    if (connector.observeUsage && grant.issuedAt !== null) {
      const sightings = await withinLastLook(connector.observeUsage([grant]));
      await deps.store.markGrantsUsed(sightings.map((s) => ({ grantId: s.grantId, at: s.at })));
    }
    const stored = await deps.store.getGrant(grant.id);
    if (stored) return { firstUsedAt: stored.firstUsedAt, lastUsedAt: stored.lastUsedAt };
  } catch (error) {
    deps.logger.warn({ grantId: grant.id, err: describeError(error) }, "usage could not be read before removal");
  }
  return { firstUsedAt: grant.firstUsedAt, lastUsedAt: grant.lastUsedAt };
}
