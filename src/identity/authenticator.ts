// The authenticator port: turns what a caller presents (API key, workload JWT, client certificate) into a verified identity.
import type { X509Certificate } from "node:crypto";
import type { Identity, IdentityStatus, Millis } from "../domain/index.js";

/** The client certificate of a mutual-TLS connection, as the TLS layer saw it. */
export interface PeerCertificate {
  readonly certificate: X509Certificate;
  /** True when the chain verified against `server.tls.clientCa` during the handshake. */
  readonly authorized: boolean;
  /** Why it did not, when it did not (OpenSSL's code). */
  readonly authorizationError: string | null;
}

export interface Presented {
  /** The raw `Authorization` header, if any. */
  readonly authorization: string | undefined;
  /** The client certificate of a mutual-TLS connection, when the server asked for one and the client sent it. */
  readonly peerCertificate?: PeerCertificate | undefined;
}

/**
 * What authentication proved about the caller, beyond who it is: passed to policy as context and, for a presented
 * token that must be used once, to the request stage, which claims it in the same commit as the request.
 */
export interface AuthenticationFacts {
  /** The authenticator that accepted the credential: `api_key`, `oidc`, `spiffe_jwt`, `mtls`… */
  readonly method: string;
  /** A non-secret id of the credential: the API key id, a token's `jti` or hash, a certificate serial. */
  readonly credentialId: string;
  /** Verified claims (issuer, subject, repository, ref, SPIFFE ID…): non-secret, for policy and audit. Empty for API keys. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** When set, the credential may be used to issue only once, until `until` (its expiry), under `key`. */
  readonly singleUse: { readonly key: string; readonly until: Millis } | null;
  /**
   * The registry's version of the identity as authentication read it (active). A credential's commit asserts it, so a
   * status change committed since (an offboarding) fails that commit: no second read of the status. Absent when the
   * identity was not read from the registry.
   */
  readonly identityVersion?: number | undefined;
}

export type AuthResult =
  | ({ readonly ok: true; readonly identity: Identity } & AuthenticationFacts)
  /**
   * `reason` names what was wrong without echoing the credential. `inactive` is set when the credential itself is good
   * but its identity is dormant or offboarded: that is a 403 naming the status, not a 401.
   */
  | {
      readonly ok: false;
      readonly reason: string;
      readonly inactive?: { readonly identityId: string; readonly status: Exclude<IdentityStatus, "active"> };
    };

export interface Authenticator {
  readonly type: string;
  /** Whether this authenticator recognises the presented credential's shape at all. */
  accepts(presented: Presented): boolean;
  authenticate(presented: Presented): Promise<AuthResult>;
}

/** The refusal of a good credential whose identity is not active. */
export function inactiveIdentity(identity: {
  readonly id: string;
  readonly status: IdentityStatus;
}): Extract<AuthResult, { ok: false }> {
  const status = identity.status === "active" ? "offboarded" : identity.status;
  const hint = status === "dormant" ? "; an admin may reactivate it" : "";
  return {
    ok: false,
    reason: `identity '${identity.id}' is ${status}${hint}`,
    inactive: { identityId: identity.id, status },
  };
}
