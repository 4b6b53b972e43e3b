// Builders for token connector tests: an authority on a given store and clock, a target, an identity and an entitlement.
import type { Grant, Identity } from "../../domain/types.js";
import type { Store } from "../../storage/store.js";
import type { ManualClock } from "../../support/clock.js";
import { silentLogger } from "../../support/logger.js";
import type { Sealer } from "../../support/sealer.js";
import {
  AUDIENCE,
  type AuthorityFixture,
  authorityFixture,
  MAX_LIFETIME_SECONDS,
} from "../../tokens/testing/authority-fixture.js";
import type { Connector, EntitlementSpec, IssuedCredential } from "../connector.js";
import { createTokenConnector } from "../token/token-connector.js";
import type { ContractSubject } from "./contract.js";
import { issuingGrant } from "./contract.js";

export interface TokenFixture extends AuthorityFixture {
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
  const { store, clock, sealer, authority } = await authorityFixture(shared);
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
    store: f.store,
    connector: f.connector,
    identity: f.identity,
    entitlement: f.entitlement,
    makeGrant: f.makeGrant,
    listsAccounts: false,
    useCredential: async (credential) => (await f.authority.introspect(f.tokenOf(credential), async () => true)).active,
    cleanup: async () => {},
  };
}
