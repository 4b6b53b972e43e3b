// The leases port: named leases that coordinate replicas (one maintenance pass at a time), with a fencing token.
import type { Millis } from "../domain/index.js";

/** A named lease some replica holds until `expiresAt`; `token` grows each time the lease changes hands (fencing). */
export interface LeaseRequest {
  readonly name: string;
  /** Who asks: one id per broker process. */
  readonly holder: string;
  readonly now: Millis;
  readonly ttlMs: number;
}

export interface HeldLease {
  readonly name: string;
  readonly holder: string;
  readonly expiresAt: Millis;
  readonly token: number;
}

export interface Leases {
  /**
   * Takes or renews the lease `name` for `holder` when it is free, expired at `now`, or already the holder's; returns
   * it, or null while someone else holds it. Coordination only (one maintenance pass at a time): not audited.
   */
  acquireLease(request: LeaseRequest): Promise<HeldLease | null>;
  /** Gives the lease up early, if `holder` still holds it. */
  releaseLease(name: string, holder: string): Promise<void>;
}
