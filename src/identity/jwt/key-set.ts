// A JSON Web Key Set from configuration (a file or the issuer's published set): public signing keys found by kid only.
import { type CryptoKey, importJWK, type JWK } from "jose";
import { WorkloadJwtError } from "./verify-workload-jwt.js";

/** Members only a private or symmetric key has: a set carrying them is refused, so a secret never becomes a verifier. */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

/** The key type (and curve) each algorithm needs: a token cannot make an RSA key verify an ECDSA signature. */
function fits(jwk: JWK, alg: string): boolean {
  if (/^(RS|PS)(256|384|512)$/.test(alg)) return jwk.kty === "RSA";
  if (alg === "ES256") return jwk.kty === "EC" && jwk.crv === "P-256";
  if (alg === "ES384") return jwk.kty === "EC" && jwk.crv === "P-384";
  if (alg === "ES512") return jwk.kty === "EC" && jwk.crv === "P-521";
  if (alg === "EdDSA" || alg === "Ed25519") return jwk.kty === "OKP" && jwk.crv === "Ed25519";
  return false;
}

export interface JwksProblem {
  readonly index: number;
  readonly problem: string;
}

/**
 * Checks a parsed JWKS document; returns the usable public signing keys and what was wrong with the others. `uses` are
 * the `use` values accepted besides none (`sig`; a SPIFFE bundle marks JWT-SVID keys `jwt-svid`); keys with another
 * `use` are left out silently when `skipUses` names it (a SPIFFE bundle's `x509-svid` keys).
 */
export function readJwks(
  document: unknown,
  uses: readonly string[] = ["sig"],
  skipUses: readonly string[] = [],
): { keys: JWK[]; problems: JwksProblem[] } {
  const problems: JwksProblem[] = [];
  const keys: JWK[] = [];
  const list = (document as { keys?: unknown } | null)?.keys;
  if (typeof document !== "object" || document === null || !Array.isArray(list)) {
    return { keys, problems: [{ index: -1, problem: "is not a JWK set (an object with a 'keys' array)" }] };
  }
  list.forEach((raw: unknown, index) => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      problems.push({ index, problem: "is not a JSON object" });
      return;
    }
    const jwk = raw as JWK & Record<string, unknown>;
    if (PRIVATE_MEMBERS.some((m) => m in jwk)) {
      problems.push({ index, problem: "holds private or symmetric key material; publish public keys only" });
      return;
    }
    if (jwk.kty !== "RSA" && jwk.kty !== "EC" && jwk.kty !== "OKP") {
      problems.push({ index, problem: `has key type '${String(jwk.kty)}'; RSA, EC or OKP expected` });
      return;
    }
    if (jwk.use !== undefined && skipUses.includes(jwk.use)) return;
    if (jwk.use !== undefined && !uses.includes(jwk.use)) {
      problems.push({ index, problem: `is not a signing key (use is '${String(jwk.use)}')` });
      return;
    }
    if (jwk.kid !== undefined && typeof jwk.kid !== "string") {
      problems.push({ index, problem: "has a kid that is not a string" });
      return;
    }
    keys.push(jwk);
  });
  return { keys, problems };
}

/** An immutable set of public keys with their imported forms cached per (kid, alg). */
export class KeySet {
  readonly #byKid = new Map<string, JWK>();
  readonly #all: readonly JWK[];
  readonly #imported = new Map<string, Promise<CryptoKey>>();

  constructor(keys: readonly JWK[]) {
    this.#all = keys;
    for (const jwk of keys) if (typeof jwk.kid === "string") this.#byKid.set(jwk.kid, jwk);
  }

  get size(): number {
    return this.#all.length;
  }

  has(kid: string): boolean {
    return this.#byKid.has(kid);
  }

  /**
   * The key named by `kid` (a map lookup, nothing else), or without a kid the only key that fits `alg`. Null when
   * none; WorkloadJwtError("wrong_key_type") when the named key is of another type than the algorithm needs.
   */
  async key(kid: string | undefined, alg: string): Promise<CryptoKey | null> {
    let jwk: JWK | undefined;
    if (kid !== undefined) {
      jwk = this.#byKid.get(kid);
    } else {
      const candidates = this.#all.filter((k) => fits(k, alg));
      jwk = candidates.length === 1 ? candidates[0] : undefined;
    }
    if (!jwk) return null;
    if (!fits(jwk, alg) || (jwk.alg !== undefined && jwk.alg !== alg)) throw new WorkloadJwtError("wrong_key_type");
    const cacheKey = `${kid ?? ""}\u0000${alg}`;
    let imported = this.#imported.get(cacheKey);
    if (!imported) {
      imported = importJWK({ ...jwk, alg }, alg).then((k) => {
        if (k instanceof Uint8Array) throw new WorkloadJwtError("wrong_key_type");
        return k;
      });
      this.#imported.set(cacheKey, imported);
      imported.catch(() => this.#imported.delete(cacheKey));
    }
    try {
      return await imported;
    } catch {
      throw new WorkloadJwtError("wrong_key_type");
    }
  }
}
