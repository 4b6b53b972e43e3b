// Builders for token connector tests: an authority on a given store and clock, a target, an identity and an entitlement.
import { randomBytes } from "node:crypto";
import type { Grant, Identity } from "../../domain/types.js";
import type { Store } from "../../storage/store.js";
import { ManualClock } from "../../support/clock.js";
import { silentLogger } from "../../support/logger.js";
import { Sealer } from "../../support/sealer.js";
import type { Connector, EntitlementSpec, IssuedCredential } from "../connector.js";
import { TokenAuthority } from "../token/token-authority.js";
import { createTokenConnector } from "../token/token-connector.js";
import type { ContractSubject } from "./contract.js";
import { issuingGrant } from "./contract.js";
import { MemoryStore } from "./memory-store.js";

export const ISSUER = "https://ephemera.test";
export const AUDIENCE = "https://orders.internal";
export const ROTATION_SECONDS = 3600;
export const MAX_LIFETIME_SECONDS = 900;
export const LEEWAY_SECONDS = 60;

export interface TokenFixture {
  readonly store: Store;
  readonly clock: ManualClock;
  readonly sealer: Sealer;
  readonly authority: TokenAuthority;
  readonly connector: Connector;
  readonly identity: Identity;
  readonly entitlement: EntitlementSpec;
  makeGrant(): Grant;
  /** The token of a credential (test code only reveals it to use it). */
  tokenOf(credential: IssuedCredential): string;
}

/** An initialised authority and a token target; pass the store, clock and sealer of another fixture to "restart". */
export async function tokenFixture(
  shared: { store?: Store; clock?: ManualClock; sealer?: Sealer } = {},
): Promise<TokenFixture> {
  const store = shared.store ?? new MemoryStore();
  const clock = shared.clock ?? new ManualClock();
  const sealer = shared.sealer ?? new Sealer(randomBytes(32));
  const authority = new TokenAuthority({
    issuer: ISSUER,
    store,
    sealer,
    clock,
    rotationIntervalSeconds: ROTATION_SECONDS,
    maxTokenLifetimeSeconds: MAX_LIFETIME_SECONDS,
    leewaySeconds: LEEWAY_SECONDS,
  });
  await authority.init();
  const connector = createTokenConnector(
    { id: "orders-api", type: "token", settings: { audience: AUDIENCE } },
    { store, clock, sealer, logger: silentLogger(), tokenAuthority: authority },
  );
  const identity: Identity = {
    id: "ci-deploy",
    kind: "pipeline",
    owner: "team-payments",
    groups: ["ci"],
    attributes: {},
    status: "active",
    admin: false,
  };
  const entitlement: EntitlementSpec = {
    name: "orders-api/read",
    targetId: "orders-api",
    defaultDurationSeconds: 300,
    maxDurationSeconds: MAX_LIFETIME_SECONDS,
    risk: "low",
    settings: { scopes: ["orders:read", "orders/list"] },
  };
  return {
    store,
    clock,
    sealer,
    authority,
    connector,
    identity,
    entitlement,
    makeGrant: () => issuingGrant({ connector, identity, entitlement, now: clock.now() }),
    tokenOf: (credential) => credential.fields.reveal().token ?? "",
  };
}

/** The fixture as the connector contract suite takes it: the target accepts a credential while introspection says active. */
export function contractSubject(f: TokenFixture): ContractSubject {
  return {
    clock: f.clock,
    connector: f.connector,
    identity: f.identity,
    entitlement: f.entitlement,
    makeGrant: f.makeGrant,
    listsAccounts: false,
    useCredential: async (credential) => (await f.authority.introspect(f.tokenOf(credential), async () => true)).active,
    cleanup: async () => {},
  };
}
