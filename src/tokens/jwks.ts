// The JWKS resource servers verify broker tokens with: the public half of each published key, current key first.
import type { PublicOkpJwk, StoredKey } from "./signing-key.js";
import { TOKEN_ALG } from "./signing-key.js";

/** A key as published in the JWKS. */
export interface PublishedJwk extends PublicOkpJwk {
  readonly kid: string;
  readonly alg: "EdDSA";
  readonly use: "sig";
}

export interface JsonWebKeySet {
  readonly keys: readonly PublishedJwk[];
}

export function toPublishedJwk(record: StoredKey): PublishedJwk {
  return { ...record.publicJwk, kid: record.kid, alg: TOKEN_ALG, use: "sig" };
}

/** The set for `published` keys: the current key first, then the newest. */
export function jwksOf(published: readonly StoredKey[], currentKid: string | null): JsonWebKeySet {
  const keys = [...published]
    .sort((a, b) => (a.kid === currentKid ? 0 : 1) - (b.kid === currentKid ? 0 : 1) || b.createdAt - a.createdAt)
    .map(toPublishedJwk);
  return { keys };
}
