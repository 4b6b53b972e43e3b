// Verifies a workload JWT (CI token, Kubernetes service-account token, JWT-SVID) against keys from configuration only.
import { createHash } from "node:crypto";
import { type CryptoKey, errors, type JWTPayload, jwtVerify } from "jose";

/** Asymmetric algorithms an issuer may be configured with. HMAC and `none` are never accepted. */
export const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
] as const;

export type WorkloadJwtRejection =
  | "malformed"
  | "too_large"
  | "unsupported_header"
  | "algorithm_not_allowed"
  | "unknown_key"
  | "wrong_key_type"
  | "keys_unavailable"
  | "bad_signature"
  | "expired"
  | "not_yet_valid"
  | "too_long_lived"
  | "wrong_issuer"
  | "wrong_audience"
  | "wrong_type"
  | "bad_claims";

const DESCRIPTIONS: Readonly<Record<WorkloadJwtRejection, string>> = {
  malformed: "is not a well-formed JWT",
  too_large: "is larger than this issuer allows",
  unsupported_header: "has a header parameter the broker does not accept (jku, x5u, jwk, x5c, crit…)",
  algorithm_not_allowed: "is signed with an algorithm this issuer is not configured for",
  unknown_key: "is signed by a key the issuer does not publish",
  wrong_key_type: "names a key of another type than its algorithm",
  keys_unavailable: "could not be checked: the issuer's signing keys could not be fetched",
  bad_signature: "has a signature that does not verify",
  expired: "has expired",
  not_yet_valid: "is not valid yet",
  too_long_lived: "lives longer than this issuer allows",
  wrong_issuer: "was issued by another issuer",
  wrong_audience: "is meant for another audience",
  wrong_type: "has a JWT type this issuer does not accept",
  bad_claims: "has missing claims or claims of the wrong type",
};

/** A workload token was refused. The message names the reason only: never the token, its header or its claims. */
export class WorkloadJwtError extends Error {
  readonly reason: WorkloadJwtRejection;
  constructor(reason: WorkloadJwtRejection, what = "the workload token") {
    super(`${what} ${DESCRIPTIONS[reason]}`);
    this.name = "WorkloadJwtError";
    this.reason = reason;
  }
}

/** The signing keys could not be obtained (network, timeout, bad document): a clear 401, not a crash. */
export class KeysUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KeysUnavailableError";
  }
}

/** Where verification gets keys: a lookup by kid in key material from configuration, never from the token. */
export interface KeyLookup {
  /**
   * The key for `kid` (or the only candidate when the token has no kid), imported for `alg`; null when there is none.
   * Throws WorkloadJwtError("wrong_key_type") when the key exists but does not fit the algorithm, and
   * KeysUnavailableError when the keys cannot be had.
   */
  key(kid: string | undefined, alg: string): Promise<CryptoKey | null>;
}

export interface WorkloadJwtRules {
  /** Exact `iss`; null when the token type does not require one (JWT-SVIDs). */
  readonly issuer: string | null;
  /** The broker's audience: `aud` must be it or contain it. */
  readonly audience: string;
  readonly algorithms: readonly string[];
  /** Clock skew allowed on `exp`, `nbf` and `iat`; at most 60. */
  readonly leewaySeconds: number;
  /** The longest lifetime accepted (`exp` − `iat`, or `exp` − now without `iat`). */
  readonly maxLifetimeSeconds: number;
  /** Largest token accepted, in characters. */
  readonly maxTokenLength: number;
  /** `typ` values accepted when the header has one (compared case-insensitively); a token without `typ` passes. */
  readonly types: readonly string[];
  /** Name used in refusals: "the GitHub token", "the JWT-SVID". */
  readonly what?: string;
}

export interface VerifiedWorkloadJwt {
  readonly payload: JWTPayload;
  readonly kid: string | undefined;
  readonly alg: string;
  /** `exp` in seconds. */
  readonly exp: number;
  /** `jti` when the token has one, else `sha256:<hex>` of the whole token: the key of single use. */
  readonly replayKey: string;
}

/**
 * Header members a workload token may carry. `x5t` is a thumbprint GitHub sends beside `kid`: a hint, never used.
 * Everything else is refused before any key is looked at: `jwk`, `jku`, `x5u`, `x5c` would let the token name its
 * own key or make the broker fetch a URL; `crit`, `b64`, `cty` ask for processing the broker does not do.
 */
const ALLOWED_HEADER = new Set(["alg", "kid", "typ", "x5t", "x5t#S256"]);
const MAX_KID_LENGTH = 256;

/** Reads the JOSE header and payload without trusting them: only for routing a token to the authenticator that decides. */
export function peekJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0] ?? "", "base64url").toString("utf8"));
    const payload: unknown = JSON.parse(Buffer.from(parts[1] ?? "", "base64url").toString("utf8"));
    if (!isObject(header) || !isObject(payload)) return null;
    return { header, payload };
  } catch {
    return null;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function tokenHash(token: string): string {
  return `sha256:${createHash("sha256").update(token).digest("hex")}`;
}

export async function verifyWorkloadJwt(
  token: string,
  rules: WorkloadJwtRules,
  keys: KeyLookup,
  now: number,
): Promise<VerifiedWorkloadJwt> {
  const what = rules.what ?? "the workload token";
  const fail = (reason: WorkloadJwtRejection) => new WorkloadJwtError(reason, what);
  if (typeof token !== "string" || token.length === 0) throw fail("malformed");
  if (token.length > rules.maxTokenLength) throw fail("too_large");
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) throw fail("malformed");
  const peeked = peekJwt(token);
  if (!peeked) throw fail("malformed");
  const { header, payload } = peeked;
  for (const name of Object.keys(header)) if (!ALLOWED_HEADER.has(name)) throw fail("unsupported_header");
  const alg = header.alg;
  if (typeof alg !== "string" || !rules.algorithms.includes(alg)) throw fail("algorithm_not_allowed");
  const kid = header.kid;
  if (kid !== undefined && (typeof kid !== "string" || kid.length === 0 || kid.length > MAX_KID_LENGTH)) {
    throw fail("unknown_key");
  }
  const typ = header.typ;
  if (typ !== undefined) {
    if (typeof typ !== "string" || !rules.types.some((t) => t.toLowerCase() === typ.toLowerCase())) {
      throw fail("wrong_type");
    }
  }
  // jose would also refuse these, but as "invalid claim set"; the type check comes first so a string `exp` is named.
  for (const claim of ["exp", "nbf", "iat"] as const) {
    if (payload[claim] !== undefined && (typeof payload[claim] !== "number" || !Number.isFinite(payload[claim]))) {
      throw fail("bad_claims");
    }
  }
  if (typeof payload.exp !== "number") throw fail("bad_claims");

  let key: CryptoKey;
  try {
    const found = await keys.key(kid, alg);
    if (!found) throw fail("unknown_key");
    key = found;
  } catch (error) {
    if (error instanceof WorkloadJwtError) throw fail(error.reason);
    if (error instanceof KeysUnavailableError) throw fail("keys_unavailable");
    throw error;
  }

  let verified: JWTPayload;
  try {
    const result = await jwtVerify(token, key, {
      algorithms: [alg],
      ...(rules.issuer === null ? {} : { issuer: rules.issuer }),
      audience: rules.audience,
      clockTolerance: rules.leewaySeconds,
      currentDate: new Date(now),
      requiredClaims: ["exp", "sub"],
    });
    verified = result.payload;
  } catch (error) {
    throw fail(rejectionOf(error));
  }
  const exp = verified.exp as number;
  const nowSeconds = Math.floor(now / 1000);
  // An `iat` in the future is refused, and never shortens the lifetime measured: `exp` counts from now at the latest.
  if (typeof verified.iat === "number" && verified.iat > nowSeconds + rules.leewaySeconds) throw fail("not_yet_valid");
  const start = Math.min(typeof verified.iat === "number" ? verified.iat : nowSeconds, nowSeconds);
  if (exp - start > rules.maxLifetimeSeconds) throw fail("too_long_lived");
  if (typeof verified.sub !== "string" || verified.sub.length === 0) throw fail("bad_claims");
  if (verified.jti !== undefined && (typeof verified.jti !== "string" || verified.jti.length > 256)) {
    throw fail("bad_claims");
  }
  const replayKey =
    typeof verified.jti === "string" && verified.jti.length > 0 ? `jti:${verified.jti}` : tokenHash(token);
  return { payload: verified, kid, alg, exp, replayKey };
}

function rejectionOf(error: unknown): WorkloadJwtRejection {
  if (error instanceof errors.JWTExpired) return "expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "iss") return "wrong_issuer";
    if (error.claim === "aud") return "wrong_audience";
    if (error.claim === "nbf" || error.claim === "iat") return "not_yet_valid";
    return "bad_claims";
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return "bad_signature";
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return "unsupported_header";
  }
  if (error instanceof TypeError) return "wrong_key_type";
  if (error instanceof errors.JWTInvalid) return "bad_claims";
  return "malformed";
}
