// The token authority's key ring: the published keys loaded from the store, the one that signs now, and rotation under
// a lease so that one replica at a time creates or retires keys while the others reload what it made.
import { randomUUID } from "node:crypto";
import type { CryptoKey } from "jose";
import type { AuditCode } from "../audit/index.js";
import { systemEvent } from "../audit/index.js";
import type { AuditDraft, Millis } from "../domain/index.js";
import { ConflictError, type Leases, type StatePort, type Write } from "../storage/index.js";
import type { Clock, Sealer } from "../support/index.js";
import { EphemeraError } from "../support/index.js";
import { type Signer, signer } from "./signer.js";
import type { StoredKey } from "./signing-key.js";
import {
  generateSigningKey,
  importPublicKey,
  isRetired,
  nextKeyChange,
  openPrivateKey,
  parseStoredKey,
  pickCurrent,
  publishedUntil,
  signingKeys,
} from "./signing-key.js";

export interface KeyRingOptions {
  readonly store: StatePort & Leases;
  readonly sealer: Sealer;
  readonly clock: Clock;
  /** Age at which `rotateIfDue` replaces the current signing key. */
  readonly rotationIntervalMs: number;
  /** No token lives longer; a retired key stays published this long after retirement, plus leeway. */
  readonly maxTokenLifetimeMs: number;
  readonly leewayMs: number;
  /** How long a rotated-in key is published before it signs. */
  readonly publishAheadMs: number;
  /** This process among the replicas sharing the store, for the rotation lease. Default a random id. */
  readonly replicaId?: string | undefined;
}

interface LoadedKey {
  readonly record: StoredKey;
  readonly publicKey: CryptoKey;
}

/** The audit actor of key changes. */
const ACTOR_ID = "token-authority";
/** One replica at a time creates or rotates keys; the others reload what it made. */
const ROTATION_LEASE = "token.rotation";
const ROTATION_LEASE_MS = 30_000;
/** How long a starting replica waits for the first key another replica is creating. */
const FIRST_KEY_WAIT_MS = 45_000;
/** How often an unknown kid may trigger a reload of the key ring (another replica may have rotated). */
const UNKNOWN_KID_REFRESH_MS = 5_000;

export class KeyRing {
  readonly #store: StatePort & Leases;
  readonly #sealer: Sealer;
  readonly #clock: Clock;
  readonly #rotationIntervalMs: number;
  readonly #maxTokenLifetimeMs: number;
  readonly #leewayMs: number;
  readonly #publishAheadMs: number;
  readonly #replicaId: string;
  #keys = new Map<string, LoadedKey>();
  /** Private halves of the keys that sign now or will: the current one, and one published ahead of its activation. */
  #signers = new Map<string, Signer>();
  #current: Signer | null = null;
  /** When the current key next changes by the clock alone. */
  #switchAt = Number.POSITIVE_INFINITY;
  #lastRefreshAt = Number.NEGATIVE_INFINITY;
  #rotation: Promise<string> | null = null;

  constructor(options: KeyRingOptions) {
    this.#store = options.store;
    this.#sealer = options.sealer;
    this.#clock = options.clock;
    this.#rotationIntervalMs = options.rotationIntervalMs;
    this.#maxTokenLifetimeMs = options.maxTokenLifetimeMs;
    this.#leewayMs = options.leewayMs;
    this.#publishAheadMs = options.publishAheadMs;
    this.#replicaId = options.replicaId ?? randomUUID();
  }

  /**
   * Loads the key ring; creates the first key on a fresh store. A restart reuses the stored keys. With replicas
   * starting together on an empty store, one creates the key and the others wait for it.
   */
  async init(): Promise<void> {
    await this.refresh();
    const giveUp = this.#clock.now() + FIRST_KEY_WAIT_MS;
    while (!this.#current) {
      const rotated = await this.#underLease(async () => {
        await this.refresh();
        return this.#current ? this.#current.kid : this.#rotate("initial");
      });
      if (rotated !== null) break;
      if (this.#clock.now() > giveUp) {
        throw new EphemeraError(
          "unavailable",
          "the token authority has no signing key: another replica holds the rotation lease",
        );
      }
      await new Promise((r) => setTimeout(r, 200));
      await this.refresh();
    }
  }

  /** True when a signing key is loaded. */
  get hasSigner(): boolean {
    return this.#current !== null;
  }

  /** The kid of the signing key as last picked, without moving to a key activated since; null before `init`. */
  get currentKid(): string | null {
    return this.#current?.kid ?? null;
  }

  /** Reloads the key ring from the store, picking up keys another replica created, activated or retired. */
  async refresh(): Promise<void> {
    const now = this.#clock.now();
    this.#lastRefreshAt = now;
    const keys = new Map<string, LoadedKey>();
    const signers = new Map<string, Signer>();
    for (const row of await signingKeys.in(this.#store).list()) {
      const record = parseStoredKey(row.key, row.value);
      if (!this.#isPublished(record, now)) continue;
      const known = this.#keys.get(record.kid);
      keys.set(record.kid, { record, publicKey: known ? known.publicKey : await importPublicKey(record) });
      if (record.sealedPrivateKey !== null && !isRetired(record, now)) {
        signers.set(
          record.kid,
          this.#signers.get(record.kid) ?? signer(record.kid, openPrivateKey(record, this.#sealer)),
        );
      }
    }
    this.#keys = keys;
    this.#signers = signers;
    this.#pick(now);
  }

  /**
   * Rotates when the current key is older than the rotation interval; true when it did. Called on a timer by every
   * replica: the rotation lease lets one of them rotate, and a replica that finds a fresh key does nothing. Also
   * destroys the private half of keys whose retirement has come.
   */
  async rotateIfDue(): Promise<boolean> {
    await this.refresh();
    await this.#scrubRetired();
    if (!this.#rotationDue()) return false;
    const before = this.#current?.kid ?? null;
    const kid = await this.#underLease(async () => {
      await this.refresh();
      return this.#rotationDue() ? this.#rotate("scheduled") : (this.#newestKid() ?? "");
    });
    return kid !== null && kid !== "" && kid !== before;
  }

  /** Makes a new key and retires every other, in one audited change set. Returns the new kid. */
  rotate(reason: string): Promise<string> {
    // One rotation at a time in this process; concurrent callers share it rather than minting several keys.
    this.#rotation ??= this.#underLease(async () => {
      await this.refresh();
      return this.#rotate(reason);
    })
      .then((kid) => {
        if (kid === null)
          throw new EphemeraError("unavailable", "another replica is rotating the signing key; try again");
        return kid;
      })
      .finally(() => {
        this.#rotation = null;
      });
    return this.#rotation;
  }

  /** The keys whose tokens may still be live at `now`: what the JWKS publishes. */
  published(now: Millis): StoredKey[] {
    return [...this.#keys.values()].map((k) => k.record).filter((r) => this.#isPublished(r, now));
  }

  /** The key new tokens are signed with now. */
  requireCurrent(): Signer {
    const now = this.#clock.now();
    // A key published ahead becomes current at its activation, on every replica, without waiting for a reload.
    if (now >= this.#switchAt) this.#pick(now);
    if (!this.#current) throw new EphemeraError("unavailable", "the token authority has no signing key; call init()");
    return this.#current;
  }

  /** The published public key with this kid, or null. Never a key taken from the token. */
  async resolveKey(kid: string): Promise<CryptoKey | null> {
    const now = this.#clock.now();
    let key = this.#keys.get(kid);
    // An unknown kid may be a key another replica just made; reload, but rarely, so junk kids cannot flood the store.
    if (!key && now - this.#lastRefreshAt >= UNKNOWN_KID_REFRESH_MS) {
      await this.refresh();
      key = this.#keys.get(kid);
    }
    return key && this.#isPublished(key.record, now) ? key.publicKey : null;
  }

  /** Runs `work` holding the rotation lease; null when another replica holds it. */
  async #underLease(work: () => Promise<string>): Promise<string | null> {
    const lease = await this.#store.acquireLease({
      name: ROTATION_LEASE,
      holder: this.#replicaId,
      now: this.#clock.now(),
      ttlMs: ROTATION_LEASE_MS,
    });
    if (!lease) return null;
    try {
      return await work();
    } finally {
      await this.#store.releaseLease(ROTATION_LEASE, this.#replicaId).catch(() => undefined);
    }
  }

  #rotationDue(): boolean {
    const newest = this.#newestKid();
    const record = newest === null ? undefined : this.#keys.get(newest)?.record;
    return !record || this.#clock.now() - record.createdAt >= this.#rotationIntervalMs;
  }

  /** The most recently created key that is not retired (it may still await activation). */
  #newestKid(): string | null {
    const now = this.#clock.now();
    let newest: StoredKey | null = null;
    for (const { record } of this.#keys.values()) {
      if (isRetired(record, now)) continue;
      if (!newest || record.createdAt > newest.createdAt) newest = record;
    }
    return newest?.kid ?? null;
  }

  async #rotate(reason: string): Promise<string> {
    const now = this.#clock.now();
    // The first key signs at once (nothing can name a key before it exists); later ones are published ahead.
    const activatesAt = this.#current === null ? now : now + this.#publishAheadMs;
    const { record, privateKey } = await generateSigningKey(this.#sealer, now, activatesAt);
    const writes: Write[] = [signingKeys.put(record.kid, record)];
    const audit: AuditDraft[] = [
      this.#audit("token.key_created", {
        kid: record.kid,
        reason,
        ...(activatesAt > now ? { activatesAt: new Date(activatesAt).toISOString() } : {}),
      }),
    ];
    for (const { record: old } of this.#keys.values()) {
      if (old.retiredAt !== null) continue;
      // The private half is dropped on retirement (a retired key only verifies); kept until then when that is later.
      const immediate = activatesAt <= now;
      const retired: StoredKey = {
        ...old,
        sealedPrivateKey: immediate ? null : old.sealedPrivateKey,
        retiredAt: activatesAt,
      };
      const until = publishedUntil(retired, this.#maxTokenLifetimeMs, this.#leewayMs);
      writes.push(signingKeys.put(old.kid, retired, until));
      if (immediate) audit.push(this.#retiredEvent(old.kid, until ?? now));
    }
    await this.#store.apply({ writes, audit });
    if (activatesAt <= now) this.#signers.set(record.kid, signer(record.kid, privateKey));
    await this.refresh();
    return record.kid;
  }

  /** Destroys the sealed private half of keys whose retirement has come; another replica doing it first is fine. */
  async #scrubRetired(): Promise<void> {
    const now = this.#clock.now();
    for (const { record } of this.#keys.values()) {
      if (!isRetired(record, now) || record.sealedPrivateKey === null) continue;
      const scrubbed: StoredKey = { ...record, sealedPrivateKey: null };
      const until = publishedUntil(scrubbed, this.#maxTokenLifetimeMs, this.#leewayMs);
      try {
        await this.#store.apply({
          writes: [signingKeys.replace(record.kid, scrubbed, record, until)],
          audit: [this.#retiredEvent(record.kid, until ?? now)],
        });
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
      }
    }
    await this.refresh();
  }

  #retiredEvent(kid: string, until: Millis): AuditDraft {
    return this.#audit("token.key_retired", { kid, publishedUntil: new Date(until).toISOString() });
  }

  /** Chooses the signing key for `now` among the keys whose private half this process holds. */
  #pick(now: Millis): void {
    const records = [...this.#keys.values()].map((k) => k.record).filter((r) => this.#signers.has(r.kid));
    const current = pickCurrent(records, now);
    this.#current = current ? (this.#signers.get(current.kid) ?? null) : null;
    this.#switchAt = nextKeyChange(records, now);
  }

  #isPublished(record: StoredKey, now: Millis): boolean {
    const until = publishedUntil(record, this.#maxTokenLifetimeMs, this.#leewayMs);
    return until === null || now < until;
  }

  #audit(code: AuditCode, data: Record<string, unknown>): AuditDraft {
    return systemEvent(code, this.#clock.now(), ACTOR_ID, data);
  }
}
