// Signing a broker access token (RFC 9068) with the current key: the claims the authority adds, and the JWS itself.
import { type KeyObject, sign as signBytes } from "node:crypto";
import type { Millis } from "../domain/index.js";
import { EphemeraError } from "../support/index.js";
import { TOKEN_ALG } from "./signing-key.js";
import { ACCESS_TOKEN_TYP, type AccessTokenClaims, type AuthorizationDetail } from "./verifier.js";

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

/** A signing key with its encoded JWS header, built once per key. */
export interface Signer {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly header: string;
}

export function signer(kid: string, privateKey: KeyObject): Signer {
  const header = Buffer.from(JSON.stringify({ alg: TOKEN_ALG, kid, typ: ACCESS_TOKEN_TYP })).toString("base64url");
  return { kid, privateKey, header };
}

export interface SignParams {
  readonly issuer: string;
  readonly now: Millis;
  readonly expiresAt: Millis;
  readonly maxTokenLifetimeSeconds: number;
}

/** Signs with `key`; `exp` is `expiresAt` rounded down to the second. */
export function signAccessToken(key: Signer, input: TokenClaimsInput, params: SignParams): SignedToken {
  const { now, expiresAt, maxTokenLifetimeSeconds } = params;
  if (expiresAt <= now) throw new EphemeraError("internal", "token expiry must be in the future");
  const iat = Math.floor(now / 1000);
  // Never later than the grant: with under a second left across a second boundary, exp equals iat and the
  // token is born expired, which is honest; rounding up would let it outlive its grant.
  const exp = Math.floor(expiresAt / 1000);
  if (exp - iat > maxTokenLifetimeSeconds) {
    // Key publication is sized on this maximum: a longer token would outlive its key in the JWKS.
    throw new EphemeraError("internal", "token lifetime is above the token authority's maximum", {
      detail: `lifetime ${exp - iat}s > maxTokenLifetimeSeconds ${maxTokenLifetimeSeconds}`,
    });
  }
  const claims: AccessTokenClaims = {
    iss: params.issuer,
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
  const signingInput = `${key.header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  const signature = signBytes(null, Buffer.from(signingInput), key.privateKey).toString("base64url");
  return { token: `${signingInput}.${signature}`, kid: key.kid, claims };
}
