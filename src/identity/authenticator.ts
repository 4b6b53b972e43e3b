// The authenticator port: turns what a caller presents into a verified identity. API keys today; OIDC, SPIFFE and mTLS later.
import type { Identity } from "../domain/types.js";

export interface Presented {
  /** The raw `Authorization` header, if any. */
  readonly authorization: string | undefined;
  /** The peer certificate of a mutual-TLS connection, when the server asks for one (later). */
  readonly peerCertificate?: unknown;
}

export type AuthResult =
  | { readonly ok: true; readonly identity: Identity; readonly method: string; readonly credentialId: string }
  /** `reason` names what was wrong without echoing the credential. */
  | { readonly ok: false; readonly reason: string };

export interface Authenticator {
  readonly type: string;
  /** Whether this authenticator recognises the presented credential's shape at all. */
  accepts(presented: Presented): boolean;
  authenticate(presented: Presented): Promise<AuthResult>;
}
