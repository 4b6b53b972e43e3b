// What every connector benchmark sets up the same way: a throwaway store and sealer behind a ConnectorContext, the
// bench identity, grants as the lifecycle would commit them, and the timed issue → revoke + verifyRemoved cycle.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Connector, EntitlementSpec, IssueResponse } from "../../src/connectors/connector.js";
import type { ConnectorContext } from "../../src/connectors/context.js";
import { openGrant } from "../../src/domain/transitions.js";
import type { Grant, Identity, Millis } from "../../src/domain/types.js";
import { openSqliteStore } from "../../src/storage/index.js";
import { systemClock } from "../../src/support/clock.js";
import { newId } from "../../src/support/ids.js";
import { silentLogger } from "../../src/support/logger.js";
import { Sealer } from "../../src/support/sealer.js";

export interface BenchContext {
  readonly ctx: ConnectorContext;
  /** Closes the store and removes its directory. */
  close(): Promise<void>;
}

/** A connector context on a fresh SQLite store in a temp directory named after `label`. */
export async function benchContext(label: string): Promise<BenchContext> {
  const dir = mkdtempSync(join(tmpdir(), `ephemera-${label}-bench-`));
  try {
    const store = await openSqliteStore(join(dir, "bench.db"));
    const sealer = new Sealer(randomBytes(32));
    return {
      ctx: { store, clock: systemClock, sealer, logger: silentLogger() },
      async close() {
        try {
          await store.close();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The service account the benchmarks issue to; `patch` sets attributes (a login, a subject) or other fields. */
export function benchIdentity(patch: Partial<Identity> = {}): Identity {
  return {
    id: "bench-client",
    kind: "service_account",
    owner: "bench",
    groups: [],
    attributes: {},
    status: "active",
    admin: false,
    ...patch,
  };
}

/** Milliseconds since `start` (a `performance.now()` reading). */
export function since(start: number): number {
  return performance.now() - start;
}

/** A grant as the lifecycle commits it before the downstream call: handle chosen, state `issuing`. */
export function issuingGrant(
  connector: Connector,
  entitlement: EntitlementSpec,
  identity: Identity,
  now: Millis = systemClock.now(),
): Grant {
  const id = newId("grt");
  const { handle, handleData } = connector.prepare({ grantId: id, identity, entitlement });
  const expiresAt = now + entitlement.defaultDurationSeconds * 1000;
  return openGrant({
    id,
    requestId: newId("req"),
    identityId: identity.id,
    targetId: connector.targetId,
    entitlement: entitlement.name,
    connectorType: connector.type,
    handle,
    handleData,
    createdAt: now,
    expiresAt,
    maxExpiresAt: now + entitlement.maxDurationSeconds * 1000,
    dueAt: expiresAt,
  });
}

/** The grant once issued: `active`, issued at its creation, the issue's handle data merged in. */
export function activeOf(grant: Grant, issued: Pick<IssueResponse, "handleData">): Grant {
  return {
    ...grant,
    state: "active",
    issuedAt: grant.createdAt,
    handleData: { ...grant.handleData, ...issued.handleData },
    version: grant.version + 1,
  };
}

export interface TimedIssue {
  readonly issued: IssueResponse;
  /** The grant as issued (`activeOf`), ready for revoke. */
  readonly grant: Grant;
  readonly issueMs: number;
}

/** Opens a grant and times `connector.issue` for it. */
export async function timedIssue(
  connector: Connector,
  entitlement: EntitlementSpec,
  identity: Identity,
): Promise<TimedIssue> {
  const opened = issuingGrant(connector, entitlement, identity);
  const start = performance.now();
  const issued = await connector.issue({ grant: opened, identity, entitlement, expiresAt: opened.expiresAt });
  const issueMs = since(start);
  return { issued, grant: activeOf(opened, issued), issueMs };
}

export interface TimedRemoval {
  /** revoke + verifyRemoved. */
  readonly removalMs: number;
  readonly revokeMs: number;
  readonly verifyMs: number;
  readonly removed: boolean;
}

/** Times `revoke` then `verifyRemoved` with the issue's probe; does not throw when removal is not verified. */
export async function timedRemoval(connector: Connector, grant: Grant, issued: IssueResponse): Promise<TimedRemoval> {
  const start = performance.now();
  await connector.revoke({ grant });
  const revoked = performance.now();
  const verified = await connector.verifyRemoved({ grant, probe: issued.probe ?? null });
  const removalMs = since(start);
  return { removalMs, revokeMs: revoked - start, verifyMs: since(revoked), removed: verified.removed };
}

/** Throws unless the removal was verified. */
export function expectRemoved(connector: Connector, grant: Grant, removal: TimedRemoval): void {
  if (!removal.removed) throw new Error(`${connector.type} bench: removal of ${grant.handle} was not verified`);
}
