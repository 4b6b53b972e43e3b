// DPoP proofs (RFC 9449): a caller proves it holds a key; tokens bound to it carry `cnf.jkt`, and resource servers check.
import { createHash } from "node:crypto";
import { calculateJwkThumbprint, EmbeddedJWK, errors, type JWK, jwtVerify } from "jose";

/** Algorithms accepted in a proof: asymmetric only. */
export const DPOP_ALGORITHMS = ["ES256", "ES384", "EdDSA", "Ed25519", "RS256", "PS256"] as const;
const MAX_PROOF_LENGTH = 4096;
/** A proof is fresh for this long either side of its `iat`. */
export const DPOP_WINDOW_SECONDS = 60;

export type DpopRejection =
  | "malformed"
  | "wrong_type"
  | "bad_signature"
  | "stale"
  | "wrong_method"
  | "wrong_url"
  | "wrong_token_hash"
  | "key_mismatch";

const DESCRIPTIONS: Readonly<Record<DpopRejection, string>> = {
  malformed: "is not a well-formed DPoP proof",
  wrong_type: "is not a DPoP proof (typ must be dpop+jwt, with a public jwk)",
  bad_signature: "has a signature that does not verify with its key",
  stale: `was not made within ${DPOP_WINDOW_SECONDS}s of now`,
  wrong_method: "was made for another HTTP method",
  wrong_url: "was made for another URL",
  wrong_token_hash: "was made for another access token (ath)",
  key_mismatch: "was signed by another key than the one the token is bound to",
};

export class DpopError extends Error {
  readonly reason: DpopRejection;
  constructor(reason: DpopRejection) {
    super(`the DPoP proof ${DESCRIPTIONS[reason]}`);
    this.name = "DpopError";
    this.reason = reason;
  }
}

export interface VerifiedProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's public key: what `cnf.jkt` carries. */
  readonly jkt: string;
  readonly publicJwk: JWK;
  readonly jti: string;
  readonly iat: number;
}

export interface ProofExpectations {
  /** The HTTP method of the request carrying the proof. */
  readonly method: string;
  /** The URL of the request, as the server is reached; query and fragment are ignored. */
  readonly url: string;
  readonly now: number;
  /** When set, the proof's `ath` must be the hash of this access token (RFC 9449 §4.2). */
  readonly accessToken?: string;
}

function normaliseUrl(url: string): string | null {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`.toLowerCase();
  } catch {
    return null;
  }
}

/** `ath`: base64url SHA-256 of the access token. */
export function accessTokenHash(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

/**
 * Checks a DPoP proof: signed by the public key in its own header (the one place a token-carried key is right, since
 * the proof is what proves that key), typ `dpop+jwt`, fresh, for this method and URL.
 */
export async function verifyDpopProof(proof: string, expected: ProofExpectations): Promise<VerifiedProof> {
  if (typeof proof !== "string" || proof.length === 0 || proof.length > MAX_PROOF_LENGTH) {
    throw new DpopError("malformed");
  }
  let header: { jwk?: JWK };
  let payload: Record<string, unknown>;
  try {
    const result = await jwtVerify(proof, EmbeddedJWK, {
      typ: "dpop+jwt",
      algorithms: [...DPOP_ALGORITHMS],
      requiredClaims: ["jti", "iat", "htm", "htu"],
      currentDate: new Date(expected.now),
      // Freshness is checked below on `iat` both ways; exp/nbf, if present, get the same window.
      clockTolerance: DPOP_WINDOW_SECONDS,
    });
    header = result.protectedHeader as { jwk?: JWK };
    payload = result.payload as Record<string, unknown>;
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) throw new DpopError("bad_signature");
    if (error instanceof errors.JWTClaimValidationFailed && error.claim === "typ") throw new DpopError("wrong_type");
    if (error instanceof errors.JWTExpired) throw new DpopError("stale");
    if (error instanceof errors.JWSInvalid || error instanceof errors.JOSEAlgNotAllowed) {
      throw new DpopError("wrong_type");
    }
    throw new DpopError("malformed");
  }
  const { jti, iat, htm, htu } = payload;
  if (typeof jti !== "string" || jti.length === 0 || jti.length > 256) throw new DpopError("malformed");
  if (typeof iat !== "number") throw new DpopError("malformed");
  if (Math.abs(expected.now / 1000 - iat) > DPOP_WINDOW_SECONDS) throw new DpopError("stale");
  if (htm !== expected.method.toUpperCase()) throw new DpopError("wrong_method");
  const want = normaliseUrl(expected.url);
  if (typeof htu !== "string" || want === null || normaliseUrl(htu) !== want) throw new DpopError("wrong_url");
  if (expected.accessToken !== undefined && payload.ath !== accessTokenHash(expected.accessToken)) {
    throw new DpopError("wrong_token_hash");
  }
  const jwk = header.jwk;
  if (!jwk) throw new DpopError("wrong_type");
  const publicJwk: JWK = Object.fromEntries(
    Object.entries(jwk).filter(([k]) => ["kty", "crv", "x", "y", "n", "e"].includes(k)),
  ) as JWK;
  const jkt = await calculateJwkThumbprint(publicJwk, "sha256");
  return { jkt, publicJwk, jti, iat };
}

/**
 * For resource servers: a token whose claims carry `cnf.jkt` is accepted only with a DPoP proof signed by that key,
 * made for this request and this token. Call after the token itself verified (signature, `exp`, introspection).
 * A token without `cnf` is a bearer token and passes unchanged.
 */
export async function checkTokenBinding(
  claims: Readonly<Record<string, unknown>>,
  proof: string | undefined,
  expected: ProofExpectations & { readonly accessToken: string },
): Promise<{ bound: boolean }> {
  const cnf = claims.cnf;
  if (cnf === undefined) return { bound: false };
  const jkt = typeof cnf === "object" && cnf !== null ? (cnf as { jkt?: unknown }).jkt : undefined;
  // A confirmation the check does not understand (x5t#S256, jwk…) is refused, never read as "not bound".
  if (typeof jkt !== "string") throw new DpopError("key_mismatch");
  if (proof === undefined) throw new DpopError("malformed");
  const verified = await verifyDpopProof(proof, expected);
  if (verified.jkt !== jkt) throw new DpopError("key_mismatch");
  return { bound: true };
}
