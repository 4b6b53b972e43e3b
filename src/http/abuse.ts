// Limits on what a hostile client can make the broker do: failed authentications and console sign-ins per source
// (@fastify/rate-limit), and one audit event plus one summary per window for a flood of the same refusal.
import rateLimit from "@fastify/rate-limit";
import type { FastifyRequest } from "fastify";
import type { RateLimit, RateLimits } from "../config/index.js";
import type { Identity } from "../domain/index.js";
import type { LifecycleDeps } from "../lifecycle/index.js";
import { type DigestedRefusal, RefusalDigest } from "../lifecycle/index.js";
import type { EphemeraError } from "../support/index.js";
import type { App } from "./app.js";

type Check = (
  request: FastifyRequest,
) => Promise<
  { readonly isAllowed: true } | { readonly isAllowed: false; readonly isExceeded: boolean; readonly ttl: number }
>;

export class AbuseGuard {
  readonly digest: RefusalDigest;
  readonly #authFailures: Check | null;
  readonly #signIns: Check | null;

  private constructor(digest: RefusalDigest, authFailures: Check | null, signIns: Check | null) {
    this.digest = digest;
    this.#authFailures = authFailures;
    this.#signIns = signIns;
  }

  static async register(
    app: App,
    deps: LifecycleDeps,
    limits: RateLimits | null,
    refusalWindowMs: number,
  ): Promise<AbuseGuard> {
    const digest = new RefusalDigest(deps, refusalWindowMs);
    app.addHook("onReady", async () => digest.start());
    app.addHook("onClose", async () => digest.stop());
    if (limits === null) return new AbuseGuard(digest, null, null);
    // Routes are not limited wholesale (global: false): only the checks below count, per source address.
    await app.register(rateLimit, { global: false });
    const limiter = (limit: RateLimit): Check =>
      // Keyed by the plugin's default: the caller's address (behind server.trustProxy, the forwarded one), an IPv6
      // address by its /64, so rotating addresses within one allocation does not escape the limit.
      app.createRateLimit({ max: limit.max, timeWindow: limit.windowMs });
    return new AbuseGuard(digest, limiter(limits.authFailures), limiter(limits.signIns));
  }

  /** Counts a failed authentication; the seconds to wait when the source has failed too often, else null. */
  authFailed(request: FastifyRequest): Promise<number | null> {
    return exceeded(this.#authFailures, request);
  }

  /** Counts a console sign-in attempt; the seconds to wait when the source has tried too often, else null. */
  signInAttempt(request: FastifyRequest): Promise<number | null> {
    return exceeded(this.#signIns, request);
  }

  /** Records a refusal through the digest (first one its own event, the rest one summary per window). */
  refuse(caller: Identity | null, refusal: DigestedRefusal): Promise<EphemeraError> {
    return this.digest.refuse(caller, refusal);
  }
}

async function exceeded(check: Check | null, request: FastifyRequest): Promise<number | null> {
  if (check === null) return null;
  const limit = await check(request);
  if (limit.isAllowed || !limit.isExceeded) return null;
  return Math.max(1, Math.ceil(limit.ttl / 1000));
}
