// How a person proves who they are to the console: an API key today; OIDC can be another `ConsoleSignIn`.
import type { Identity } from "../../domain/index.js";
import type { AuthenticatorChain } from "../../identity/index.js";

/** What a sign-in method proves: who signed in and how (for the audit event), or why not (never echoing a secret). */
export type SignInResult =
  | { readonly ok: true; readonly identity: Identity; readonly method: string; readonly credentialId: string }
  | { readonly ok: false; readonly reason: string };

/**
 * One way to sign in to the console. The API-key method is built in; an OIDC authorization-code method would be
 * another implementation whose `signIn` receives the callback's parameters instead of a pasted key.
 */
export interface ConsoleSignIn {
  readonly method: string;
  signIn(presented: Readonly<Record<string, unknown>>): Promise<SignInResult>;
}

/** Sign-in with a pasted API key, checked by the broker's own API-key authenticator. */
export class ApiKeySignIn implements ConsoleSignIn {
  readonly method = "api_key";
  constructor(private readonly auth: AuthenticatorChain) {}

  async signIn(presented: Readonly<Record<string, unknown>>): Promise<SignInResult> {
    const key = presented.apiKey;
    if (typeof key !== "string" || key.length === 0) return { ok: false, reason: "apiKey is required" };
    const result = await this.auth.authenticate({ authorization: `Bearer ${key}` });
    if (!result.ok) return { ok: false, reason: result.reason };
    if (result.method !== "api_key")
      return { ok: false, reason: "the console accepts an API key, not a workload token" };
    return { ok: true, identity: result.identity, method: result.method, credentialId: result.credentialId };
  }
}
