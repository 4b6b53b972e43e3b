// The broker's token authority: one Ed25519 key ring shared by every token target; signs, verifies, rotates, revokes, introspects.
import { type KeyObject, randomUUID, sign as signBytes } from "node:crypto";
import type { CryptoKey } from "jose";
import type { AuditCode } from "../../audit/codes.js";
import { systemEvent } from "../../audit/system-event.js";
import type { AuditDraft, Millis } from "../../domain/types.js";
import { ConflictError, type Store, type Write } from "../../storage/store.js";
import type { Clock } from "../../support/clock.js";
import { EphemeraError } from "../../support/errors.js";
import type { Sealer } from "../../support/sealer.js";
import type { RevokedEntry, RevokeInput } from "./deny-list.js";
import { DenyList } from "./deny-list.js";
import type { PublishedJwk, StoredKey } from "./key-ring.js";
import {
  generateSigningKey,
  importPublicKey,
  isRetired,
  KEY_NAMESPACE,
  nextKeyChange,
  openPrivateKey,
  parseStoredKey,
  pickCurrent,
  publishedUntil,
  TOKEN_ALG,
  toPublishedJwk,
} from "./key-ring.js";
import type { AccessTokenClaims, AuthorizationDetail } from "./verify-token.js";
import { ACCESS_TOKEN_TYP, TokenVerificationError, verifyAccessToken } from "./verify-token.js";

export interface TokenAuthorityOptions {
  /** The `iss` of every token, compared exactly on verification. */
  readonly issuer: string;
  readonly store: Store;
  readonly sealer: Sealer;
  readonly clock: Clock;
  /** Age at which `rotateIfDue` replaces the current signing key. */
  readonly rotationIntervalSeconds: number;
  /** No token lives longer; a retired key stays published this long after retirement. */
  readonly maxTokenLifetimeSeconds: number;
  /** Extra time for clock skew and JWKS caches, added to key publication and deny-list retention. Default 60. */
  readonly leewaySeconds?: number;
  /**
   * How long a rotated-in key is published before it signs. 0 (the default) for a store one process uses; with
   * replicas, more than the interval at which they reload the key ring, so each serves the key before a token names it.
   */
  readonly publishAheadSeconds?: number;
  /** This process among the replicas sharing the store, for the rotation lease. Default a random id. */
  readonly replicaId?: string;
}

/** What a token target asks to be signed; the authority adds `iss`, `iat`, `nbf` and `exp`. */
export interface TokenClaimsInput {
  readonly aud: string;
  readonly sub: string;
  readonly scope: string;
  readonly jti: string;
  readonly ent: string;
  /** Thumbprint of the key the token is bound to (RFC 9449); the token then carries `cnf.jkt`. */
  readonly jkt?: string | undefined;
  /** RFC 9396 authorization details: the task and actions the grant was asked for, when the request carried them. */
  readonly authorization_details?: readonly AuthorizationDetail[];
}

export interface SignedToken {
  readonly token: string;
  readonly kid: string;
  readonly claims: AccessTokenClaims;
}

export interface JsonWebKeySet {
  readonly keys: readonly PublishedJwk[];
}

/** RFC 7662 response. Inactive says nothing more, so a caller cannot probe why a token was refused. */
export type IntrospectionResponse =
  | { readonly active: false }
  | ({ readonly active: true; readonly token_type: "Bearer" | "DPoP" } & AccessTokenClaims);

interface Signer {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly header: string;
}

/** A signing key with its encoded JWS header, built once per key. */
function signer(kid: string, privateKey: KeyObject): Signer {
  const header = Buffer.from(JSON.stringify({ alg: TOKEN_ALG, kid, typ: ACCESS_TOKEN_TYP })).toString("base64url");
  return { kid, privateKey, header };
}

interface LoadedKey {
  readonly record: StoredKey;
  readonly publicKey: CryptoKey;
}

const ACTOR = { type: "system", id: "token-authority" } as const;
/** One replica at a time creates or rotates keys; the others reload what it made. */
const ROTATION_LEASE = "token.rotation";
const ROTATION_LEASE_MS = 30_000;
/** How long a starting replica waits for the first key another replica is creating. */
const FIRST_KEY_WAIT_MS = 45_000;
const INACTIVE: IntrospectionResponse = Object.freeze({ active: false });
/** How often an unknown kid may trigger a reload of the key ring (another replica may have rotated). */
const UNKNOWN_KID_REFRESH_MS = 5_000;

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`token authority: ${name} must be a positive integer`);
  }
  return value;
}

export class TokenAuthority {
  readonly issuer: string;
  readonly maxTokenLifetimeSeconds: number;
  readonly rotationIntervalSeconds: number;
  readonly #store: Store;
  readonly #sealer: Sealer;
  readonly #clock: Clock;
  readonly #leewayMs: number;
  readonly #denyList: DenyList;
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
  #ready = false;

  constructor(options: TokenAuthorityOptions) {
    if (typeof options.issuer !== "string" || options.issuer.length === 0) {
      throw new Error("token authority: issuer must be a non-empty string");
    }
    this.issuer = options.issuer;
    this.rotationIntervalSeconds = positiveInteger("rotationIntervalSeconds", options.rotationIntervalSeconds);
    this.maxTokenLifetimeSeconds = positiveInteger("maxTokenLifetimeSeconds", options.maxTokenLifetimeSeconds);
    const leeway = options.leewaySeconds ?? 60;
    if (!Number.isSafeInteger(leeway) || leeway < 0) throw new Error("token authority: leewaySeconds must be >= 0");
    this.#leewayMs = leeway * 1000;
    const ahead = options.publishAheadSeconds ?? 0;
    if (!Number.isSafeInteger(ahead) || ahead < 0) throw new Error("token authority: publishAheadSeconds must be >= 0");
    this.#publishAheadMs = ahead * 1000;
    this.#replicaId = options.replicaId ?? randomUUID();
    this.#store = options.store;
    this.#sealer = options.sealer;
    this.#clock = options.clock;
    this.#denyList = new DenyList(options.store, options.clock, this.#leewayMs);
  }

  /**
   * Loads the key ring and deny-list; creates the first key on a fresh store. A restart reuses the stored keys. With
   * replicas starting together on an empty store, one creates the key and the others wait for it.
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
    await this.#denyList.load();
    this.#ready = true;
  }

  /** True once `init` has loaded a signing key. */
  get ready(): boolean {
    return this.#ready && this.#current !== null;
  }

  /** Reloads the key ring from the store, picking up keys another replica created, activated or retired. */
  async refresh(): Promise<void> {
    const now = this.#clock.now();
    this.#lastRefreshAt = now;
    const keys = new Map<string, LoadedKey>();
    const signers = new Map<string, Signer>();
    for (const row of await this.#store.listState(KEY_NAMESPACE)) {
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
    return !record || this.#clock.now() - record.createdAt >= this.rotationIntervalSeconds * 1000;
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
    const writes: Write[] = [
      { kind: "putState", namespace: KEY_NAMESPACE, key: record.kid, value: record, expiresAt: null },
    ];
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
      const until = publishedUntil(retired, this.maxTokenLifetimeSeconds * 1000, this.#leewayMs);
      writes.push({ kind: "putState", namespace: KEY_NAMESPACE, key: old.kid, value: retired, expiresAt: until });
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
      const until = publishedUntil(scrubbed, this.maxTokenLifetimeSeconds * 1000, this.#leewayMs);
      try {
        await this.#store.apply({
          writes: [
            {
              kind: "replaceState",
              namespace: KEY_NAMESPACE,
              key: record.kid,
              value: scrubbed,
              expiresAt: until,
              expected: { value: record },
            },
          ],
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

  /** The public keys a resource server needs: the current key and retired keys whose tokens may still be live. */
  jwks(): JsonWebKeySet {
    const now = this.#clock.now();
    const current = this.#current?.kid ?? null;
    const keys = [...this.#keys.values()]
      .map((k) => k.record)
      .filter((r) => this.#isPublished(r, now))
      // Current key first, then the newest.
      .sort((a, b) => (a.kid === current ? 0 : 1) - (b.kid === current ? 0 : 1) || b.createdAt - a.createdAt)
      .map(toPublishedJwk);
    return { keys };
  }

  /** The kid new tokens are signed with. */
  currentKid(): string {
    return this.#requireCurrent().kid;
  }

  /** Signs an RFC 9068 access token with the current key; `exp` is `expiresAt` rounded down to the second. */
  async sign(input: TokenClaimsInput, expiresAt: Millis): Promise<SignedToken> {
    const current = this.#requireCurrent();
    const now = this.#clock.now();
    if (expiresAt <= now) throw new EphemeraError("internal", "token expiry must be in the future");
    const iat = Math.floor(now / 1000);
    // Never later than the grant: with under a second left across a second boundary, exp equals iat and the
    // token is born expired, which is honest; rounding up would let it outlive its grant.
    const exp = Math.floor(expiresAt / 1000);
    if (exp - iat > this.maxTokenLifetimeSeconds) {
      // Key publication is sized on this maximum: a longer token would outlive its key in the JWKS.
      throw new EphemeraError("internal", "token lifetime is above the token authority's maximum", {
        detail: `lifetime ${exp - iat}s > maxTokenLifetimeSeconds ${this.maxTokenLifetimeSeconds}`,
      });
    }
    const claims: AccessTokenClaims = {
      iss: this.issuer,
      aud: input.aud,
      sub: input.sub,
      scope: input.scope,
      jti: input.jti,
      ent: input.ent,
      ...(input.authorization_details ? { authorization_details: input.authorization_details } : {}),
      iat,
      nbf: iat,
      exp,
      ...(input.jkt === undefined ? {} : { cnf: { jkt: input.jkt } }),
    };
    // JWS compact serialisation (RFC 7515 §7.1) with Ed25519 (RFC 8037): header.payload.signature, base64url.
    const signingInput = `${current.header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
    const signature = signBytes(null, Buffer.from(signingInput), current.privateKey).toString("base64url");
    const token = `${signingInput}.${signature}`;
    return { token, kid: current.kid, claims };
  }

  /** Checks signature (published key by kid), `typ`, `iss`, `aud` when given, `exp`, `nbf`; not revocation. */
  async verify(token: string, options: { readonly audience?: string } = {}): Promise<AccessTokenClaims> {
    const { claims } = await verifyAccessToken(token, {
      issuer: this.issuer,
      ...(options.audience === undefined ? {} : { audience: options.audience }),
      now: this.#clock.now(),
      maxAgeSeconds: this.maxTokenLifetimeSeconds + this.#leewayMs / 1000,
      resolveKey: (kid) => this.#resolveKey(kid),
    });
    return claims;
  }

  /** True when the jti is on the deny-list (cache first; a miss is confirmed by the store). */
  isRevoked(jti: string): Promise<boolean> {
    return this.#denyList.isRevoked(jti);
  }

  /** The deny-list row as the store holds it, bypassing the cache: for removal verification. */
  revocationOf(jti: string): Promise<RevokedEntry | null> {
    return this.#denyList.lookup(jti);
  }

  /** Puts the jti on the deny-list, audited; already revoked is success. */
  async revoke(input: RevokeInput): Promise<{ entry: RevokedEntry; alreadyRevoked: boolean }> {
    const { entry, added } = await this.#denyList.revoke(input);
    return { entry, alreadyRevoked: !added };
  }

  /**
   * RFC 7662 introspection. Any token that fails verification, is revoked or whose grant is no longer active is
   * `{ active: false }`. A store failure is thrown, not answered: "cannot tell" must not read as a verdict.
   */
  async introspect(token: string, isGrantActive: (jti: string) => Promise<boolean>): Promise<IntrospectionResponse> {
    let claims: AccessTokenClaims;
    try {
      claims = await this.verify(token);
    } catch (error) {
      if (error instanceof TokenVerificationError) return INACTIVE;
      throw error;
    }
    if (await this.isRevoked(claims.jti)) return INACTIVE;
    if (!(await isGrantActive(claims.jti))) return INACTIVE;
    const { scope, sub, aud, iss, exp, iat, nbf, jti, ent, cnf, authorization_details } = claims;
    return {
      active: true,
      scope,
      sub,
      aud,
      iss,
      exp,
      iat,
      nbf,
      jti,
      // RFC 9449 §6.2: a bound token introspects as token_type DPoP with its confirmation.
      token_type: cnf ? "DPoP" : "Bearer",
      ent,
      ...(cnf ? { cnf } : {}),
      ...(authorization_details ? { authorization_details } : {}),
    };
  }

  async #resolveKey(kid: string): Promise<CryptoKey | null> {
    const now = this.#clock.now();
    let key = this.#keys.get(kid);
    // An unknown kid may be a key another replica just made; reload, but rarely, so junk kids cannot flood the store.
    if (!key && now - this.#lastRefreshAt >= UNKNOWN_KID_REFRESH_MS) {
      await this.refresh();
      key = this.#keys.get(kid);
    }
    return key && this.#isPublished(key.record, now) ? key.publicKey : null;
  }

  #isPublished(record: StoredKey, now: Millis): boolean {
    const until = publishedUntil(record, this.maxTokenLifetimeSeconds * 1000, this.#leewayMs);
    return until === null || now < until;
  }

  #requireCurrent(): Signer {
    const now = this.#clock.now();
    // A key published ahead becomes current at its activation, on every replica, without waiting for a reload.
    if (now >= this.#switchAt) this.#pick(now);
    if (!this.#current) throw new EphemeraError("unavailable", "the token authority has no signing key; call init()");
    return this.#current;
  }

  #audit(code: AuditCode, data: Record<string, unknown>): AuditDraft {
    return systemEvent(code, this.#clock.now(), ACTOR.id, data);
  }
}
