// The deny-list of revoked token ids: durable in the store, with an in-memory cache so introspection rarely waits.
import { systemEvent } from "../audit/index.js";
import type { Actor, Millis } from "../domain/index.js";
import { type ChangeSet, StateNamespace, type StatePort } from "../storage/index.js";
import type { Clock } from "../support/index.js";

/** Connector-state namespace of revoked `jti`s. */
const REVOKED_NAMESPACE = "token.revoked";

/** A deny-list row: kept until the token would have expired anyway, then the store's purge drops it. */
export interface RevokedEntry {
  readonly jti: string;
  readonly revokedAt: Millis;
  /** The latest `exp` any token with this jti can carry, in milliseconds. */
  readonly expiresAt: Millis;
}

export interface RevokeInput {
  readonly jti: string;
  /** The latest expiry of any token with this jti (the grant's `expiresAt`). */
  readonly expiresAt: Millis;
  readonly grantId: string | null;
  readonly identityId: string | null;
}

/** The deny-list rows by jti. What is read back goes through `parseEntry`, tolerant of rows older than this shape. */
const revoked = new StateNamespace<RevokedEntry>(REVOKED_NAMESPACE);

const ACTOR: Actor = { type: "system", id: "token-authority" };

function parseEntry(jti: string, value: unknown, fallbackExpiresAt: Millis | null): RevokedEntry {
  const v = (typeof value === "object" && value !== null ? value : {}) as Partial<Record<keyof RevokedEntry, unknown>>;
  return {
    jti,
    revokedAt: typeof v.revokedAt === "number" ? v.revokedAt : 0,
    expiresAt: typeof v.expiresAt === "number" ? v.expiresAt : (fallbackExpiresAt ?? Number.MAX_SAFE_INTEGER),
  };
}

/**
 * The cache holds positives only, because a revocation is never undone: a jti seen revoked stays revoked. A miss is
 * not proof of the opposite: with several replicas another one may have revoked the jti a moment ago, so a miss is
 * confirmed by one point read of the store. A revoked token is therefore refused by every replica at once, at the cost
 * of a keyed read per introspection of a live token. (A shared change feed could remove that read; not needed yet.)
 */
export class DenyList {
  readonly #store: StatePort;
  readonly #clock: Clock;
  readonly #leewayMs: number;
  readonly #cache = new Map<string, RevokedEntry>();
  readonly #pending = new Map<string, Promise<{ entry: RevokedEntry; added: boolean }>>();

  /** `leewayMs` keeps a row a little past the token's `exp`, for replicas whose clocks run behind. */
  constructor(store: StatePort, clock: Clock, leewayMs: number) {
    this.#store = store;
    this.#clock = clock;
    this.#leewayMs = leewayMs;
  }

  async load(): Promise<void> {
    this.#cache.clear();
    for (const row of await revoked.in(this.#store).list()) {
      this.#cache.set(row.key, parseEntry(row.key, row.value, row.expiresAt));
    }
  }

  /** True when the jti is revoked, by this replica or any other. */
  async isRevoked(jti: string): Promise<boolean> {
    if (this.#cache.has(jti)) return true;
    return (await this.lookup(jti)) !== null;
  }

  /** The deny-list row as the store holds it now, bypassing the cache: what removal verification must see. */
  async lookup(jti: string): Promise<RevokedEntry | null> {
    const row = await revoked.in(this.#store).get(jti);
    if (!row) return null;
    const entry = parseEntry(jti, row.value, row.expiresAt);
    this.#cache.set(jti, entry);
    return entry;
  }

  /** Adds the jti, durably and audited. Idempotent: a jti already on the list is left as it is. */
  revoke(input: RevokeInput): Promise<{ entry: RevokedEntry; added: boolean }> {
    // Concurrent revocations of one jti in this process share one write, so the audit log records it once.
    let pending = this.#pending.get(input.jti);
    if (!pending) {
      pending = this.#revoke(input).finally(() => this.#pending.delete(input.jti));
      this.#pending.set(input.jti, pending);
    }
    return pending;
  }

  async #revoke(input: RevokeInput): Promise<{ entry: RevokedEntry; added: boolean }> {
    const existing = await this.lookup(input.jti);
    if (existing) return { entry: existing, added: false };
    const now = this.#clock.now();
    const { entry, changes } = this.revocation(input, now);
    await this.#store.apply(changes);
    this.#cache.set(input.jti, entry);
    this.#prune(now);
    return { entry, added: true };
  }

  /**
   * The deny-list row and its audit event as a change set, for a caller that commits them with its own writes (a grant's
   * removal recorded in the same transaction). Putting a jti that is already listed again only moves its times.
   */
  revocation(input: RevokeInput, now: Millis): { entry: RevokedEntry; changes: ChangeSet } {
    // Never shorter than now: a row that expires at once could be purged before a late replica reads it.
    const entry: RevokedEntry = { jti: input.jti, revokedAt: now, expiresAt: Math.max(input.expiresAt, now) };
    const changes: ChangeSet = {
      writes: [revoked.put(input.jti, entry, entry.expiresAt + this.#leewayMs)],
      audit: [
        systemEvent(
          "token.revoked",
          now,
          ACTOR.id,
          { jti: input.jti, deniedUntil: new Date(entry.expiresAt).toISOString() },
          input,
        ),
      ],
    };
    return { entry, changes };
  }

  /** Drops cache entries whose tokens have expired: the signature check refuses those on `exp` alone. */
  #prune(now: Millis): void {
    for (const [jti, entry] of this.#cache) if (entry.expiresAt + this.#leewayMs < now) this.#cache.delete(jti);
  }
}
