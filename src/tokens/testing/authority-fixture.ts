// Builders for token authority tests: an initialised authority on a given store, clock and sealer, with fixed settings.
import { randomBytes } from "node:crypto";
import type { Store } from "../../storage/store.js";
import { memoryStore } from "../../storage/testing/memory.js";
import { ManualClock } from "../../support/clock.js";
import { Sealer } from "../../support/sealer.js";
import { TokenAuthority } from "../token-authority.js";

export const ISSUER = "https://ephemera.test";
export const AUDIENCE = "https://orders.internal";
export const ROTATION_SECONDS = 3600;
export const MAX_LIFETIME_SECONDS = 900;
export const LEEWAY_SECONDS = 60;

export interface AuthorityFixture {
  readonly store: Store;
  readonly clock: ManualClock;
  readonly sealer: Sealer;
  readonly authority: TokenAuthority;
}

/** An initialised authority; pass the store, clock and sealer of another fixture to "restart" or add a replica. */
export async function authorityFixture(
  shared: { store?: Store; clock?: ManualClock; sealer?: Sealer } = {},
): Promise<AuthorityFixture> {
  const store = shared.store ?? memoryStore();
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
  return { store, clock, sealer, authority };
}
