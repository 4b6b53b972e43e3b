// What a connector test against a real server needs from the broker: a context, an identity, entitlements, grants.
import { randomBytes } from "node:crypto";
import type { Grant, Identity } from "../../domain/types.js";
import { systemClock } from "../../support/clock.js";
import { randomToken } from "../../support/ids.js";
import { silentLogger } from "../../support/logger.js";
import { Sealer } from "../../support/sealer.js";
import type { Connector, EntitlementSpec } from "../connector.js";
import type { ConnectorContext } from "../registry.js";
import { TokenAuthority } from "../token/token-authority.js";
import { issuingGrant } from "./contract.js";
import { MemoryStore } from "./memory-store.js";

export interface TestContext extends ConnectorContext {
  readonly store: MemoryStore;
}

/** A connector context on an in-memory store and the real clock (targets compare expiry with their own clock). */
export function connectorContext(): TestContext {
  const store = new MemoryStore();
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
  return { store, clock: systemClock, sealer, logger: silentLogger(), tokenAuthority };
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
