// How a broker-issued access token is checked: a header allow-list, the key chosen by kid, then jose's signature and claim checks.
import type { CompactJWSHeaderParameters, CryptoKey, JWTPayload } from "jose";
import { errors, jwtVerify } from "jose";
import { EphemeraError } from "../support/index.js";
import { TOKEN_ALG } from "./signing-key.js";

/** RFC 9068 `typ` of a JWT access token: keeps other JWTs signed by the same key from passing as access tokens. */
export const ACCESS_TOKEN_TYP = "at+jwt";

/** One RFC 9396 authorization detail: what the task said it needs. `type` is always `ephemera_task`. */
export interface AuthorizationDetail {
  readonly type: "ephemera_task";
  /** The task id the request named; absent when it named none. */
  readonly task?: string;
  readonly actions: readonly string[];
  /** The entitlement the grant is for, as RFC 9396 `locations`-style context. */
  readonly entitlement: string;
}

/** The claims of every token the authority issues; `verify` returns exactly these, each checked for its type. */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  /** Space-separated scopes (RFC 8693 / RFC 9068). */
  readonly scope: string;
  /** The grant id: revocation and introspection key on it. */
  readonly jti: string;
  /** The entitlement the grant is for. */
  readonly ent: string;
  /** Present when the request carried an intent with a task or actions (RFC 9396). */
  readonly authorization_details?: readonly AuthorizationDetail[];
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
  /** RFC 7800 confirmation: present when the token is bound to a key the caller proved (RFC 9449 `jkt`). */
  readonly cnf?: { readonly jkt: string };
}

export type TokenRejection =
  | "malformed"
  | "unsupported_header"
  | "unknown_key"
  | "bad_signature"
  | "expired"
  | "not_yet_valid"
  | "wrong_issuer"
  | "wrong_audience"
  | "wrong_type"
  | "bad_claims";

const DESCRIPTIONS: Readonly<Record<TokenRejection, string>> = {
  malformed: "not a well-formed JWT",
  unsupported_header: "header carries an algorithm or parameter the broker does not accept",
  unknown_key: "signed by a key the broker does not publish",
  bad_signature: "signature does not verify",
  expired: "expired",
  not_yet_valid: "not yet valid",
  wrong_issuer: "issued by someone else",
  wrong_audience: "meant for another audience",
  wrong_type: "not an access token",
  bad_claims: "claims are missing or of the wrong type",
};

/** A token was refused. The message names the reason only: never the token, its header or its claims. */
export class TokenVerificationError extends EphemeraError {
  readonly reason: TokenRejection;
  constructor(reason: TokenRejection) {
    super("unauthenticated", `access token rejected: ${DESCRIPTIONS[reason]}`, { detail: `token.${reason}` });
    this.name = "TokenVerificationError";
    this.reason = reason;
  }
}

/**
 * Header members a broker token may carry. Everything else is refused before any key is looked at: `jwk`, `jku`,
 * `x5u`, `x5c` would let the token name its own key, and `crit` would ask for processing the broker does not do.
 */
const ALLOWED_HEADER = new Set(["alg", "kid", "typ"]);
/** Far longer than any token the broker signs; a bound so introspection never parses megabytes. */
const MAX_TOKEN_LENGTH = 8192;

/** Carries a key-lookup failure (a store error) through jose untouched, to be rethrown as it was. */
class KeyLookupFailed extends Error {
  override readonly cause: unknown;
  constructor(cause: unknown) {
    super("key lookup failed");
    this.cause = cause;
  }
}

export interface VerifyParams {
  readonly issuer: string;
  readonly audience?: string;
  readonly now: number;
  /** Oldest `iat` accepted: the maximum token lifetime, so a token cannot outlive the key publication window. */
  readonly maxAgeSeconds: number;
  /** The published public key with this kid, or null. Must be a lookup, never a key taken from the token. */
  readonly resolveKey: (kid: string) => Promise<CryptoKey | null>;
}

export async function verifyAccessToken(
  token: string,
  params: VerifyParams,
): Promise<{ claims: AccessTokenClaims; kid: string }> {
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw new TokenVerificationError("malformed");
  }
  let kid = "";
  const getKey = async (header: CompactJWSHeaderParameters): Promise<CryptoKey> => {
    for (const name of Object.keys(header)) {
      if (!ALLOWED_HEADER.has(name)) throw new TokenVerificationError("unsupported_header");
    }
    if (header.alg !== TOKEN_ALG) throw new TokenVerificationError("unsupported_header");
    if (typeof header.kid !== "string") throw new TokenVerificationError("unknown_key");
    let key: CryptoKey | null;
    try {
      key = await params.resolveKey(header.kid);
    } catch (error) {
      throw new KeyLookupFailed(error);
    }
    if (!key) throw new TokenVerificationError("unknown_key");
    kid = header.kid;
    return key;
  };
  let payload: JWTPayload;
  try {
    const result = await jwtVerify(token, getKey, {
      algorithms: [TOKEN_ALG],
      issuer: params.issuer,
      ...(params.audience === undefined ? {} : { audience: params.audience }),
      typ: ACCESS_TOKEN_TYP,
      currentDate: new Date(params.now),
      maxTokenAge: params.maxAgeSeconds,
      requiredClaims: ["iss", "aud", "sub", "jti", "iat", "nbf", "exp"],
    });
    payload = result.payload;
  } catch (error) {
    // The store failing to load keys is an outage, not a bad token: it must not read as "inactive".
    if (error instanceof KeyLookupFailed) throw error.cause;
    throw error instanceof TokenVerificationError ? error : new TokenVerificationError(rejectionOf(error));
  }
  return { claims: readClaims(payload), kid };
}

/** Maps jose's error to a reason; jose's own message is dropped, as it may quote claims. */
function rejectionOf(error: unknown): TokenRejection {
  // Also raised for an `iat` older than the maximum lifetime: too old is expired, whatever `exp` claims.
  if (error instanceof errors.JWTExpired) return "expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "iss") return "wrong_issuer";
    if (error.claim === "aud") return "wrong_audience";
    if (error.claim === "nbf") return "not_yet_valid";
    if (error.claim === "typ") return "wrong_type";
    return "bad_claims";
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return "bad_signature";
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return "unsupported_header";
  }
  return "malformed";
}

function readClaims(p: JWTPayload): AccessTokenClaims {
  const { iss, aud, sub, jti, iat, nbf, exp } = p;
  const scope = p.scope;
  const ent = p.ent;
  if (
    typeof iss !== "string" ||
    typeof aud !== "string" ||
    typeof sub !== "string" ||
    typeof scope !== "string" ||
    typeof jti !== "string" ||
    typeof ent !== "string" ||
    typeof iat !== "number" ||
    typeof nbf !== "number" ||
    typeof exp !== "number"
  ) {
    throw new TokenVerificationError("bad_claims");
  }
  const cnf = p.cnf as { jkt?: unknown } | undefined;
  if (cnf !== undefined && (typeof cnf !== "object" || cnf === null || typeof cnf.jkt !== "string")) {
    throw new TokenVerificationError("bad_claims");
  }
  const details = p.authorization_details;
  if (details !== undefined && !validDetails(details)) throw new TokenVerificationError("bad_claims");
  return {
    iss,
    aud,
    sub,
    scope,
    jti,
    ent,
    ...(details === undefined ? {} : { authorization_details: details }),
    iat,
    nbf,
    exp,
    ...(cnf ? { cnf: { jkt: cnf.jkt as string } } : {}),
  };
}

function validDetails(value: unknown): value is AuthorizationDetail[] {
  return (
    Array.isArray(value) &&
    value.every(
      (d: unknown) =>
        typeof d === "object" &&
        d !== null &&
        (d as AuthorizationDetail).type === "ephemera_task" &&
        Array.isArray((d as AuthorizationDetail).actions) &&
        (d as AuthorizationDetail).actions.every((a) => typeof a === "string") &&
        typeof (d as AuthorizationDetail).entitlement === "string",
    )
  );
}
