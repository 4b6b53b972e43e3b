// `console.signIn`: how people sign in to the console: the company's identity provider (OIDC) and/or a pasted API key.
import { type OidcSignInSettings, parseOidcSignInSettings } from "../identity/index.js";
import type { ConfiguredIdentity } from "./identity-config.js";
import type { ConfigReader } from "./reader.js";
import type { RawConfig } from "./schema.js";

export interface SignInConfig {
  /** Whether `POST /v1/sessions` takes an API key: on without OIDC; with OIDC only when set to true. */
  readonly apiKey: boolean;
  readonly oidc: OidcSignInSettings | null;
}

type RawSignIn = NonNullable<NonNullable<RawConfig["console"]>["signIn"]>;

export function signInConfig(
  raw: RawSignIn | undefined,
  publicUrl: string,
  identities: ReadonlyMap<string, ConfiguredIdentity>,
  r: ConfigReader,
): SignInConfig {
  const at = "console.signIn.oidc";
  let oidc: OidcSignInSettings | null = null;
  if (raw?.oidc !== undefined) {
    const spec = raw.oidc;
    // A secret is named, never written in the file: only { env } or { file } is accepted; anything else is refused
    // by the settings' check, whose message says so.
    const ref = spec.clientSecret;
    const isRef = typeof ref === "object" && ref !== null && !Array.isArray(ref);
    oidc = parseOidcSignInSettings(
      { ...spec, clientSecret: isRef ? r.secretRef(ref, `${at}.clientSecret`) : undefined },
      { at, identities, problems: r.problems, readFile: r.readText },
      publicUrl,
    );
  }
  return { apiKey: raw?.apiKey ?? oidc === null, oidc };
}
