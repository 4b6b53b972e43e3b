// What a connector test against a real server needs from the broker: a context, an identity, entitlements, grants.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Grant, GrantState, Identity } from "../../domain/types.js";
import { draft, systemActor } from "../../lifecycle/shared/audit-draft.js";
import { openSqliteStore } from "../../storage/sqlite/index.js";
import type { Store } from "../../storage/store.js";
import { makeRequest } from "../../storage/testing/fixtures.js";
import { memoryStore } from "../../storage/testing/memory.js";
import { systemClock } from "../../support/clock.js";
import { randomToken } from "../../support/ids.js";
import { type Logger, silentLogger } from "../../support/logger.js";
import { Sealer } from "../../support/sealer.js";
import { TokenAuthority } from "../../tokens/index.js";
import type { Connector, EntitlementSpec } from "../connector.js";
import type { FactoryContext } from "../context.js";
import { issuingGrant } from "./contract.js";

export interface TestContext extends FactoryContext {
  /** The whole store, for tests that read back what the connector kept or audited. */
  readonly store: Store;
}

/** A connector context over `store`, the real clock (targets compare expiry with their own) and a fresh master key. */
function contextOn<S extends Store>(store: S, logger: Logger = silentLogger()) {
  const sealer = new Sealer(randomBytes(32));
  const tokenAuthority = new TokenAuthority({
    issuer: "https://ephemera.test",
    store,
    sealer,
    clock: systemClock,
    rotationIntervalSeconds: 3600,
    maxTokenLifetimeSeconds: 3600,
    leewaySeconds: 60,
  });
  return { store, clock: systemClock, sealer, logger, tokenAuthority };
}

/** A connector context on SQLite in memory, closed with the process. */
export function connectorContext(): TestContext {
  return contextOn(memoryStore());
}

/** A connector context on a real SQLite store in a temporary directory, for connectors that read grants. */
export interface SqliteContext extends FactoryContext {
  /** The whole store, for tests that set grants up and read them back; the connector sees its part only. */
  readonly store: Store;
  close(): Promise<void>;
}

export async function sqliteConnectorContext(options: { logger?: Logger } = {}): Promise<SqliteContext> {
  const dir = mkdtempSync(join(tmpdir(), "ephemera-connector-"));
  const store = await openSqliteStore(join(dir, "broker.db"));
  return {
    ...contextOn(store, options.logger),
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const testIdentity: Identity = {
  id: "ci-deploy",
  kind: "pipeline",
  owner: "team-payments",
  groups: ["ci"],
  attributes: {},
  status: "active",
  admin: false,
};

export function entitlement(
  targetId: string,
  name: string,
  settings: Readonly<Record<string, unknown>>,
): EntitlementSpec {
  return {
    name: `${targetId}/${name}`,
    targetId,
    defaultDurationSeconds: 300,
    maxDurationSeconds: 3600,
    risk: "low",
    settings,
  };
}

/** A grant in `issuing` for the connector, as the lifecycle commits it before the downstream call. */
export function grantFor(connector: Connector, spec: EntitlementSpec, identity: Identity = testIdentity): Grant {
  return issuingGrant({ connector, identity, entitlement: spec, now: systemClock.now() });
}

/** A unique lower-case name for objects a test creates (databases, roles, vhosts, key prefixes). */
export function uniqueName(label: string): string {
  return `${label}_${randomToken(8)}`;
}

/** Commits a grant (and the request it came from) to the store in `state`, as the lifecycle would. */
export async function storeGrant(store: Store, grant: Grant, state: GrantState = "active"): Promise<Grant> {
  const now = systemClock.now();
  const request = makeRequest({
    id: grant.requestId,
    identityId: grant.identityId,
    targetId: grant.targetId,
    entitlement: grant.entitlement,
    state: "issued",
    grantId: grant.id,
  });
  const stored: Grant = { ...grant, state, issuedAt: state === "issuing" ? null : now };
  await store.apply({
    writes: [
      { kind: "insertRequest", request },
      { kind: "insertGrant", grant: stored },
    ],
    audit: [draft("grant.issuing", now, systemActor("test"), { grant: stored })],
  });
  return stored;
}

/** Moves a stored grant to `state` (`active` once issued, `revoking` once its end is decided…). */
export async function moveGrant(store: Store, grant: Grant, state: GrantState): Promise<Grant> {
  const current = await store.getGrant(grant.id);
  if (!current) throw new Error("grant not stored");
  const issuedAt = current.issuedAt ?? (state === "active" ? systemClock.now() : null);
  const next: Grant = { ...current, state, issuedAt, version: current.version + 1 };
  await store.apply({
    writes: [{ kind: "updateGrant", grant: next, expectedVersion: current.version }],
    audit: [draft("grant.revoking", systemClock.now(), systemActor("test"), { grant: next }, { state })],
  });
  return next;
}
