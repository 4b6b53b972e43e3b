// API keys: `ephk_<id>_<secret>`, a prefix secret scanners can match; stored only as SHA-256 hashes, compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Identity } from "../domain/index.js";
import { randomToken } from "../support/index.js";
import { type Authenticator, type AuthResult, inactiveIdentity, type Presented } from "./authenticator.js";

export const API_KEY_PREFIX = "ephk_";
const KEY_FORMAT = /^ephk_([0-9a-z]{10,40})_([A-Za-z0-9_-]{43})$/;

export interface NewApiKey {
  /** The whole key: shown once, never stored. */
  readonly key: string;
  readonly keyId: string;
  /** `sha256:<hex>`: what configuration and storage keep. */
  readonly hash: string;
}

/** API keys carry 256 random bits, so one fast hash is enough: there is nothing to brute-force. */
export function hashApiKey(key: string): string {
  return `sha256:${createHash("sha256").update(key).digest("hex")}`;
}

export function generateApiKey(): NewApiKey {
  const keyId = randomToken(16);
  const key = `${API_KEY_PREFIX}${keyId}_${randomBytes(32).toString("base64url")}`;
  return { key, keyId, hash: hashApiKey(key) };
}

export function parseApiKey(key: string): { keyId: string } | null {
  const match = KEY_FORMAT.exec(key);
  return match ? { keyId: match[1]! } : null;
}

export interface ApiKeyEntry {
  readonly keyId: string;
  readonly identityId: string;
  readonly hash: string;
}

const DUMMY_HASH = hashApiKey("ephk_0000000000_unknown-key-compared-so-unknown-ids-cost-the-same");

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export class ApiKeyAuthenticator implements Authenticator {
  readonly type = "api_key";
  readonly #keys = new Map<string, ApiKeyEntry>();

  constructor(
    entries: Iterable<ApiKeyEntry>,
    /** The identity as registered now, so an offboarded identity's keys stop working on every replica at once. */
    private readonly identities: (id: string) => Promise<(Identity & { readonly version?: number }) | undefined>,
    /** Asked for a key id not in `entries` (found ones are kept); a store failure refuses the key. */
    private readonly lookup?: (keyId: string) => Promise<ApiKeyEntry | null>,
  ) {
    for (const entry of entries) this.#keys.set(entry.keyId, entry);
  }

  add(entry: ApiKeyEntry): void {
    this.#keys.set(entry.keyId, entry);
  }

  /** Whether the key `keyId` is still configured for `identityId` (a console session signed in with it lives on). */
  async admits(keyId: string, identityId: string): Promise<boolean> {
    let entry = this.#keys.get(keyId);
    if (!entry && this.lookup) entry = (await this.lookup(keyId).catch(() => null)) ?? undefined;
    return entry !== undefined && entry.identityId === identityId;
  }

  accepts(presented: Presented): boolean {
    return bearer(presented)?.startsWith(API_KEY_PREFIX) ?? false;
  }

  async authenticate(presented: Presented): Promise<AuthResult> {
    const key = bearer(presented);
    if (key === undefined) return { ok: false, reason: "no bearer credential" };
    const parsed = parseApiKey(key);
    if (!parsed) return { ok: false, reason: "the API key is malformed" };
    let entry = this.#keys.get(parsed.keyId);
    if (!entry && this.lookup) {
      entry = (await this.lookup(parsed.keyId).catch(() => null)) ?? undefined;
      if (entry) this.#keys.set(entry.keyId, entry);
    }
    const matches = sameHash(hashApiKey(key), entry?.hash ?? DUMMY_HASH);
    if (!entry || !matches) return { ok: false, reason: "the API key is not recognised" };
    const identity = await this.identities(entry.identityId);
    if (!identity) return { ok: false, reason: "the API key's identity is no longer configured" };
    if (identity.status !== "active") return inactiveIdentity(identity);
    return {
      ok: true,
      identity,
      method: this.type,
      credentialId: entry.keyId,
      claims: {},
      singleUse: null,
      ...(identity.version === undefined ? {} : { identityVersion: identity.version }),
    };
  }
}

export function bearer(presented: Presented): string | undefined {
  const header = presented.authorization;
  if (!header) return undefined;
  const match = /^Bearer[ ]+(\S+)$/i.exec(header.trim());
  return match?.[1];
}
