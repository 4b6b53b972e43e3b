// The broker's token authority: one Ed25519 key ring shared by every token target; signs, verifies, rotates, revokes, introspects.
import type { Millis } from "../domain/index.js";
import type { ChangeSet, Leases, StatePort } from "../storage/index.js";
import type { Clock, Sealer } from "../support/index.js";
import type { RevokedEntry, RevokeInput } from "./deny-list.js";
import { DenyList } from "./deny-list.js";
import type { IntrospectionResponse } from "./introspection.js";
import { introspectAccessToken } from "./introspection.js";
import type { JsonWebKeySet } from "./jwks.js";
import { jwksOf } from "./jwks.js";
import { KeyRing } from "./key-ring.js";
import type { SignedToken, TokenClaimsInput } from "./signer.js";
import { signAccessToken } from "./signer.js";
import type { AccessTokenClaims } from "./verifier.js";
import { verifyAccessToken } from "./verifier.js";

export interface TokenAuthorityOptions {
  /** The `iss` of every token, compared exactly on verification. */
  readonly issuer: string;
  /** Its keys and deny-list are state entries; rotation runs under a lease. */
  readonly store: StatePort & Leases;
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
  readonly #clock: Clock;
  readonly #leewayMs: number;
  readonly #keys: KeyRing;
  readonly #denyList: DenyList;
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
    this.#clock = options.clock;
    this.#keys = new KeyRing({
      store: options.store,
      sealer: options.sealer,
      clock: options.clock,
      rotationIntervalMs: this.rotationIntervalSeconds * 1000,
      maxTokenLifetimeMs: this.maxTokenLifetimeSeconds * 1000,
      leewayMs: this.#leewayMs,
      publishAheadMs: ahead * 1000,
      replicaId: options.replicaId,
    });
    this.#denyList = new DenyList(options.store, options.clock, this.#leewayMs);
  }

  /**
   * Loads the key ring and deny-list; creates the first key on a fresh store. A restart reuses the stored keys. With
   * replicas starting together on an empty store, one creates the key and the others wait for it.
   */
  async init(): Promise<void> {
    await this.#keys.init();
    await this.#denyList.load();
    this.#ready = true;
  }

  /** True once `init` has loaded a signing key. */
  get ready(): boolean {
    return this.#ready && this.#keys.hasSigner;
  }

  /** Reloads the key ring from the store, picking up keys another replica created, activated or retired. */
  refresh(): Promise<void> {
    return this.#keys.refresh();
  }

  /**
   * Rotates when the current key is older than the rotation interval; true when it did. Called on a timer by every
   * replica: the rotation lease lets one of them rotate, and a replica that finds a fresh key does nothing. Also
   * destroys the private half of keys whose retirement has come.
   */
  rotateIfDue(): Promise<boolean> {
    return this.#keys.rotateIfDue();
  }

  /** Makes a new key and retires every other, in one audited change set. Returns the new kid. */
  rotate(reason: string): Promise<string> {
    return this.#keys.rotate(reason);
  }

  /** The public keys a resource server needs: the current key and retired keys whose tokens may still be live. */
  jwks(): JsonWebKeySet {
    return jwksOf(this.#keys.published(this.#clock.now()), this.#keys.currentKid);
  }

  /** The kid new tokens are signed with. */
  currentKid(): string {
    return this.#keys.requireCurrent().kid;
  }

  /** Signs an RFC 9068 access token with the current key; `exp` is `expiresAt` rounded down to the second. */
  async sign(input: TokenClaimsInput, expiresAt: Millis): Promise<SignedToken> {
    const current = this.#keys.requireCurrent();
    return signAccessToken(current, input, {
      issuer: this.issuer,
      now: this.#clock.now(),
      expiresAt,
      maxTokenLifetimeSeconds: this.maxTokenLifetimeSeconds,
    });
  }

  /** Checks signature (published key by kid), `typ`, `iss`, `aud` when given, `exp`, `nbf`; not revocation. */
  async verify(token: string, options: { readonly audience?: string } = {}): Promise<AccessTokenClaims> {
    const { claims } = await verifyAccessToken(token, {
      issuer: this.issuer,
      ...(options.audience === undefined ? {} : { audience: options.audience }),
      now: this.#clock.now(),
      maxAgeSeconds: this.maxTokenLifetimeSeconds + this.#leewayMs / 1000,
      resolveKey: (kid) => this.#keys.resolveKey(kid),
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

  /** The deny-list row and its audit event, for the caller to commit in its own change set (no write here). */
  revocation(input: RevokeInput): { entry: RevokedEntry; changes: ChangeSet } {
    return this.#denyList.revocation(input, this.#clock.now());
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
  introspect(token: string, isGrantActive: (jti: string) => Promise<boolean>): Promise<IntrospectionResponse> {
    return introspectAccessToken(token, {
      verify: (t) => this.verify(t),
      isRevoked: (jti) => this.isRevoked(jti),
      isGrantActive,
    });
  }
}
