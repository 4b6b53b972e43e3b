// Verifies an OpenID Connect ID token: the workload-JWT checks (allow-listed asymmetric algorithm, key from the
// provider's JWKS by kid, issuer, audience, exp/nbf/iat with a small leeway) plus what OpenID Connect Core 3.1.3.7
// adds for a client: iat present, azp when there are several audiences, and the nonce of this sign-in.
import type { JWTPayload } from "jose";
import { sameSecret } from "../../support/index.js";
import {
  type KeyLookup,
  verifyWorkloadJwt,
  WorkloadJwtError,
  type WorkloadJwtRejection,
} from "../jwt/verify-workload-jwt.js";

export type IdTokenRejection = WorkloadJwtRejection | "wrong_nonce" | "wrong_authorized_party";

const MORE: Readonly<Record<"wrong_nonce" | "wrong_authorized_party", string>> = {
  wrong_nonce: "does not carry the nonce of this sign-in",
  wrong_authorized_party: "was issued to another client (azp)",
};

/** An ID token was refused; the message names the reason only, never the token or its claims. */
export class IdTokenError extends Error {
  readonly reason: IdTokenRejection;
  constructor(reason: IdTokenRejection, message: string) {
    super(message);
    this.name = "IdTokenError";
    this.reason = reason;
  }
}

export interface IdTokenExpectations {
  readonly issuer: string;
  /** The client the token must be for: `aud` contains it, and `azp` is it when present or when `aud` has others. */
  readonly clientId: string;
  readonly algorithms: readonly string[];
  readonly leewaySeconds: number;
  readonly maxLifetimeSeconds: number;
  readonly maxTokenLength: number;
  /** The nonce this sign-in sent, compared in constant time; null for a grant that sends none (the device grant). */
  readonly nonce: string | null;
}

export interface VerifiedIdToken {
  readonly payload: JWTPayload;
  /** `exp`, in seconds. */
  readonly exp: number;
  /** `jti` or a hash of the token: what single use is keyed on. */
  readonly replayKey: string;
}

const WHAT = "the ID token";

export async function verifyIdToken(
  token: string,
  expect: IdTokenExpectations,
  keys: KeyLookup,
  now: number,
): Promise<VerifiedIdToken> {
  let verified: Awaited<ReturnType<typeof verifyWorkloadJwt>>;
  try {
    verified = await verifyWorkloadJwt(
      token,
      {
        issuer: expect.issuer,
        audience: expect.clientId,
        algorithms: expect.algorithms,
        leewaySeconds: expect.leewaySeconds,
        maxLifetimeSeconds: expect.maxLifetimeSeconds,
        maxTokenLength: expect.maxTokenLength,
        types: ["JWT"],
        what: WHAT,
      },
      keys,
      now,
    );
  } catch (error) {
    if (error instanceof WorkloadJwtError) throw new IdTokenError(error.reason, error.message);
    throw error;
  }
  const { payload } = verified;
  if (typeof payload.iat !== "number") throw new IdTokenError("bad_claims", `${WHAT} has no iat`);
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  const azp = payload.azp;
  if (azp !== undefined || audiences.length > 1) {
    if (typeof azp !== "string" || azp !== expect.clientId) {
      throw new IdTokenError("wrong_authorized_party", `${WHAT} ${MORE.wrong_authorized_party}`);
    }
  }
  if (expect.nonce !== null) {
    const nonce = payload.nonce;
    if (typeof nonce !== "string" || !sameSecret(nonce, expect.nonce)) {
      throw new IdTokenError("wrong_nonce", `${WHAT} ${MORE.wrong_nonce}`);
    }
  }
  return { payload, exp: verified.exp, replayKey: verified.replayKey };
}
