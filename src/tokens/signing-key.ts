// One signing key of the token authority as stored: an Ed25519 pair whose private half is sealed at rest, and when it
// signs and stays published.
import { createPrivateKey, type KeyObject } from "node:crypto";
import type { CryptoKey, JWK } from "jose";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from "jose";
import type { Millis } from "../domain/index.js";
import { StateNamespace } from "../storage/index.js";
import type { Sealer } from "../support/index.js";

/** Connector-state namespace of the signing keys, one row per `kid`. */
const KEY_NAMESPACE = "token.keys";
/** The only algorithm the authority signs with or accepts. */
export const TOKEN_ALG = "EdDSA";

/** The public half of a key as stored: exactly the members needed, so nothing private can ride along. */
export interface PublicOkpJwk {
  readonly kty: "OKP";
  readonly crv: "Ed25519";
  readonly x: string;
}

/** One signing key as stored under `token.keys/<kid>`. */
export interface StoredKey {
  /** RFC 7638 thumbprint of the public key: stable, and the same on every replica that reads it. */
  readonly kid: string;
  readonly publicJwk: PublicOkpJwk;
  /**
   * The private JWK, sealed with context `token-key:<kid>`. Null once the key is retired: a retired key
   * only verifies, so its private half is destroyed rather than kept at rest for nothing.
   */
  readonly sealedPrivateKey: string | null;
  readonly createdAt: Millis;
  /**
   * When it starts signing. The first key signs at once; a rotation on a store shared by replicas publishes the new
   * key this long before it signs, so every replica's JWKS holds it before any token names it.
   */
  readonly activatesAt: Millis;
  /** When it stops signing (it keeps verifying until `publishedUntil`); null while it has no successor. */
  readonly retiredAt: Millis | null;
}

function sealContext(kid: string): string {
  return `token-key:${kid}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The stored signing keys by kid. What is read back goes through `parseStoredKey`: a damaged row must not sign. */
export const signingKeys = new StateNamespace<StoredKey>(KEY_NAMESPACE);

/** A fresh key pair: the record to store (private half sealed) and the private key ready to sign. */
export async function generateSigningKey(
  sealer: Sealer,
  now: Millis,
  activatesAt: Millis = now,
): Promise<{ record: StoredKey; privateKey: KeyObject }> {
  const pair = await generateKeyPair(TOKEN_ALG, { crv: "Ed25519", extractable: true });
  const privateJwk = await exportJWK(pair.privateKey);
  const publicJwk = toPublicJwk(await exportJWK(pair.publicKey));
  const kid = await calculateJwkThumbprint(publicJwk, "sha256");
  const record: StoredKey = {
    kid,
    publicJwk,
    sealedPrivateKey: sealer.seal(JSON.stringify(privateJwk), sealContext(kid)),
    createdAt: now,
    activatesAt,
    retiredAt: null,
  };
  return { record, privateKey: signingKeyOf(privateJwk) };
}

function toPublicJwk(jwk: JWK): PublicOkpJwk {
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.x !== "string") {
    throw new Error("token signing key is not an Ed25519 public key");
  }
  return { kty: "OKP", crv: "Ed25519", x: jwk.x };
}

/** Reads a stored row back, refusing anything that is not exactly a key record (a damaged row must not sign or verify). */
export function parseStoredKey(key: string, value: unknown): StoredKey {
  const where = `${KEY_NAMESPACE}/${key}`;
  if (!isRecord(value)) throw new Error(`${where}: stored key is not an object`);
  const { kid, publicJwk, sealedPrivateKey, createdAt, retiredAt } = value;
  // Keys stored before delayed activation existed signed from their creation.
  const activatesAt = value.activatesAt ?? createdAt;
  if (kid !== key) throw new Error(`${where}: stored kid does not match its key`);
  if (!isRecord(publicJwk) || "d" in publicJwk) throw new Error(`${where}: publicJwk is not a public JWK`);
  if (sealedPrivateKey !== null && typeof sealedPrivateKey !== "string") {
    throw new Error(`${where}: sealedPrivateKey must be a sealed string or null`);
  }
  if (typeof createdAt !== "number") throw new Error(`${where}: createdAt must be a number`);
  if (retiredAt !== null && typeof retiredAt !== "number")
    throw new Error(`${where}: retiredAt must be a number or null`);
  if (typeof activatesAt !== "number") throw new Error(`${where}: activatesAt must be a number`);
  return { kid, publicJwk: toPublicJwk(publicJwk as JWK), sealedPrivateKey, createdAt, activatesAt, retiredAt };
}

/** Opens the sealed private half; the sealer binds it to its kid, so a row copied under another kid will not open. */
export function openPrivateKey(record: StoredKey, sealer: Sealer): KeyObject {
  if (record.sealedPrivateKey === null) throw new Error(`signing key ${record.kid} is retired and has no private key`);
  return signingKeyOf(JSON.parse(sealer.open(record.sealedPrivateKey, sealContext(record.kid))) as JWK);
}

/**
 * Signing uses node:crypto's one-shot Ed25519 (about 40 µs of CPU a token here) rather than WebCrypto through jose
 * (about 130 µs): on a busy broker that difference is a quarter of the main thread. Verification stays with jose.
 */
function signingKeyOf(jwk: JWK): KeyObject {
  const { d, x, crv, kty } = jwk;
  if (kty !== "OKP" || crv !== "Ed25519" || typeof d !== "string" || typeof x !== "string") {
    throw new Error("a signing key must be an Ed25519 private JWK");
  }
  return createPrivateKey({ key: { kty, crv, d, x }, format: "jwk" });
}

export async function importPublicKey(record: StoredKey): Promise<CryptoKey> {
  return (await importJWK({ ...record.publicJwk, alg: TOKEN_ALG }, TOKEN_ALG)) as CryptoKey;
}

/**
 * Until when a key must stay in the JWKS: null while current; once retired, long enough for the last token it
 * signed to expire (tokens never live longer than the maximum lifetime), plus leeway for clock skew and caches.
 */
export function publishedUntil(record: StoredKey, maxLifetimeMs: number, leewayMs: number): Millis | null {
  return record.retiredAt === null ? null : record.retiredAt + maxLifetimeMs + leewayMs;
}

/** True once the key no longer signs. */
export function isRetired(record: StoredKey, now: Millis): boolean {
  return record.retiredAt !== null && record.retiredAt <= now;
}

/**
 * The key to sign with at `now`: the newest active one, by activation then creation time (two replicas racing a
 * rotation could each leave one; every replica then picks the same).
 */
export function pickCurrent(records: Iterable<StoredKey>, now: Millis): StoredKey | null {
  let current: StoredKey | null = null;
  for (const r of records) {
    if (isRetired(r, now) || r.activatesAt > now) continue;
    if (
      !current ||
      r.activatesAt > current.activatesAt ||
      (r.activatesAt === current.activatesAt &&
        (r.createdAt > current.createdAt || (r.createdAt === current.createdAt && r.kid > current.kid)))
    ) {
      current = r;
    }
  }
  return current;
}

/** The next time the current key changes by the clock alone (an activation or a retirement), or Infinity. */
export function nextKeyChange(records: Iterable<StoredKey>, now: Millis): Millis {
  let next = Number.POSITIVE_INFINITY;
  for (const r of records) {
    if (r.activatesAt > now) next = Math.min(next, r.activatesAt);
    if (r.retiredAt !== null && r.retiredAt > now) next = Math.min(next, r.retiredAt);
  }
  return next;
}
