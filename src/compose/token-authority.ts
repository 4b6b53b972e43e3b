// The broker's own signing keys: the token authority, and the timers that rotate its keys and reload them from the store.
import type { Config } from "../config/index.js";
import { describeError } from "../support/index.js";
import { TokenAuthority } from "../tokens/index.js";
import type { StartContext } from "./start-context.js";

/** How often each replica reloads the signing keys from the store. */
const KEY_RELOAD_MS = 10_000;

/** The token authority with its key ring loaded (or made on first start). */
export async function startTokenAuthority(ctx: StartContext): Promise<TokenAuthority> {
  const { config, store, sealer, clock, replicaId, shared } = ctx;
  const tokens = new TokenAuthority({
    issuer: config.tokens.issuer,
    store,
    sealer,
    clock,
    rotationIntervalSeconds: config.tokens.rotationIntervalSeconds,
    maxTokenLifetimeSeconds: Math.max(3600, ...tokenLifetimes(config)),
    replicaId,
    // Replicas reload the key ring every KEY_RELOAD_MS: a rotated-in key is in every JWKS before it signs.
    publishAheadSeconds: shared ? (KEY_RELOAD_MS * 3) / 1000 : 0,
  });
  await tokens.init();
  return tokens;
}

/** The maximum durations of the token targets' entitlements: a signing key must stay valid while its tokens live. */
function tokenLifetimes(config: Config): number[] {
  return config.targets
    .filter((t) => t.type === "token")
    .flatMap((t) => t.entitlements.map((e) => e.maxDurationSeconds));
}

/**
 * Starts the housekeeping timers: every minute, rotate the signing key when due and purge expired state from the store;
 * every KEY_RELOAD_MS, reload keys another replica created, activated or retired (well within the publish-ahead time).
 * Returns what stops them.
 */
export function startHousekeeping(ctx: StartContext, tokens: TokenAuthority): () => void {
  const { store, clock, logger } = ctx;
  const housekeeping = setInterval(() => {
    tokens.rotateIfDue().catch((e: unknown) => logger.error({ err: describeError(e) }, "signing key rotation failed"));
    store.purgeExpiredState(clock.now()).catch((e: unknown) => logger.error({ err: describeError(e) }, "purge failed"));
  }, 60_000);
  housekeeping.unref();
  const keyReload = setInterval(() => {
    tokens.refresh().catch((e: unknown) => logger.warn({ err: describeError(e) }, "signing key reload failed"));
  }, KEY_RELOAD_MS);
  keyReload.unref();
  return () => {
    clearInterval(housekeeping);
    clearInterval(keyReload);
  };
}
