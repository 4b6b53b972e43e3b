// Bounds every downstream call of a connector: a target that stops answering turns into an error the lifecycle retries,
// never a call that outlives the grant's removal claim. One decorator for every connector (STYLE habit 5).
import type { Connector } from "./connector.js";

/** Longest a single downstream call may take; well below the default 30 s removal claim. */
export const DEFAULT_CALL_DEADLINE_MS = 20_000;

export class DeadlineExceededError extends Error {
  constructor(targetId: string, call: string, ms: number) {
    super(`target '${targetId}': ${call} did not finish within ${ms} ms`);
    this.name = "DeadlineExceededError";
  }
}

function bounded<T>(targetId: string, call: string, ms: number, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(targetId, call, ms)), ms);
  });
  return Promise.race([run(), deadline]).finally(() => clearTimeout(timer));
}

/**
 * The connector with each network call bounded by `ms`. A call that times out may still finish downstream later; an
 * account made that way is removed by the retry (revoke is idempotent) or, at worst, found by the reconciler.
 */
export function withDeadline(connector: Connector, ms = DEFAULT_CALL_DEADLINE_MS): Connector {
  const id = connector.targetId;
  const wrapped: Connector = {
    type: connector.type,
    targetId: connector.targetId,
    validateEntitlement: (entitlement) => connector.validateEntitlement(entitlement),
    prepare: (request) => connector.prepare(request),
    issue: (request) => bounded(id, "issue", ms, () => connector.issue(request)),
    renew: (request) => bounded(id, "renew", ms, () => connector.renew(request)),
    revoke: (request) => bounded(id, "revoke", ms, () => connector.revoke(request)),
    ...(connector.observeUsage
      ? {
          observeUsage: (grants: Parameters<NonNullable<Connector["observeUsage"]>>[0]) =>
            bounded(id, "observeUsage", ms, () => connector.observeUsage?.(grants) ?? Promise.resolve([])),
        }
      : {}),
    verifyRemoved: (request) => bounded(id, "verifyRemoved", ms, () => connector.verifyRemoved(request)),
    listAccounts: () => bounded(id, "listAccounts", ms, () => connector.listAccounts()),
    removeAccount: (handle) => bounded(id, "removeAccount", ms, () => connector.removeAccount(handle)),
    rotateAdminSecret: () => bounded(id, "rotateAdminSecret", ms * 3, () => connector.rotateAdminSecret()),
    healthy: () => bounded(id, "healthy", Math.min(ms, 5_000), () => connector.healthy()).catch(() => false),
    close: () => connector.close(),
  };
  // Flags (issuesInProcess, bindsCredentials) and a connector's own extras (an x509 target's publisher) pass through.
  const extras = Object.fromEntries(Object.entries(connector).filter(([key]) => !(key in wrapped)));
  return { ...extras, ...wrapped };
}
