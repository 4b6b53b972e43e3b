// RFC 7662 introspection of a broker token: active only when it verifies, is not revoked and its grant is active.
import type { AccessTokenClaims } from "./verifier.js";
import { TokenVerificationError } from "./verifier.js";

/** RFC 7662 response. Inactive says nothing more, so a caller cannot probe why a token was refused. */
export type IntrospectionResponse =
  | { readonly active: false }
  | ({ readonly active: true; readonly token_type: "Bearer" | "DPoP" } & AccessTokenClaims);

/** The three checks a token must pass, in order. */
export interface IntrospectionChecks {
  verify(token: string): Promise<AccessTokenClaims>;
  isRevoked(jti: string): Promise<boolean>;
  isGrantActive(jti: string): Promise<boolean>;
}

const INACTIVE: IntrospectionResponse = Object.freeze({ active: false });

/**
 * Any token that fails verification, is revoked or whose grant is no longer active is `{ active: false }`. A store
 * failure is thrown, not answered: "cannot tell" must not read as a verdict.
 */
export async function introspectAccessToken(
  token: string,
  checks: IntrospectionChecks,
): Promise<IntrospectionResponse> {
  let claims: AccessTokenClaims;
  try {
    claims = await checks.verify(token);
  } catch (error) {
    if (error instanceof TokenVerificationError) return INACTIVE;
    throw error;
  }
  if (await checks.isRevoked(claims.jti)) return INACTIVE;
  if (!(await checks.isGrantActive(claims.jti))) return INACTIVE;
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
