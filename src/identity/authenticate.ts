// Runs the configured authenticators in order; the first that recognises the credential decides.
import type { Authenticator, AuthResult, Presented } from "./authenticator.js";

export class AuthenticatorChain {
  constructor(private readonly authenticators: readonly Authenticator[]) {}

  async authenticate(presented: Presented): Promise<AuthResult> {
    if (!presented.authorization && presented.peerCertificate === undefined) {
      return { ok: false, reason: "no credential: send 'Authorization: Bearer <API key or workload token>'" };
    }
    for (const authenticator of this.authenticators) {
      if (authenticator.accepts(presented)) return authenticator.authenticate(presented);
    }
    return { ok: false, reason: "the credential is of no kind this broker accepts" };
  }
}
