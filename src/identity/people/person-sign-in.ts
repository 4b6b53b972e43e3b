// A person signs in with the company's identity provider: the authorization request (code + PKCE S256, state, nonce),
// the code exchange, and the ID token verified and mapped to the person's human identity. The pending sign-in's
// secrets are kept by the caller (the console's lifecycle), which also audits every outcome.
import { createHash } from "node:crypto";
import type { Clock, Logger } from "../../support/index.js";
import type { AuthResult } from "../authenticator.js";
import { describeUrl, fetchJson } from "../jwt/fetch-json.js";
import { KeysUnavailableError } from "../jwt/verify-workload-jwt.js";
import type { IdentityRegistry } from "../registry.js";
import { admitPerson } from "../trust-rules.js";
import { personFromClaims } from "./claims-mapping.js";
import { ProviderDiscovery } from "./discovery.js";
import { IdTokenError, type IdTokenRejection, verifyIdToken } from "./id-token.js";
import type { OidcSignInSettings } from "./settings.js";

/** The longest ID-token lifetime accepted (`exp` − `iat`). */
const MAX_ID_TOKEN_LIFETIME_SECONDS = 86_400;

/** Why a sign-in was refused: a stable code for audit and a message that never carries a token, code or claim value. */
export type PersonRefusal = Extract<AuthResult, { ok: false }> & {
  readonly code: IdTokenRejection | "provider_unavailable" | "code_refused" | "unmapped" | "not_a_person" | "inactive";
};

export type PersonAdmission =
  | {
      readonly ok: true;
      readonly identity: Extract<AuthResult, { ok: true }>["identity"];
      /** `exp` of the ID token, in seconds: no session it opens outlives it. */
      readonly exp: number;
      /** `jti` or the token's hash: an ID token opens one session only. */
      readonly replayKey: string;
      /** Verified, non-secret facts for audit and policy: issuer, subject, how many provider groups were left out. */
      readonly claims: Readonly<Record<string, string | number>>;
    }
  | PersonRefusal;

export interface PersonSignInDeps {
  readonly registry: IdentityRegistry;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Which client an ID token must have been issued to: the console's (with a nonce) or the command line's. */
export type Audience = { readonly client: "console"; readonly nonce: string } | { readonly client: "cli" };

export function pkceChallenge(verifier: string): string {
  return createHash("sha256").update(verifier, "ascii").digest("base64url");
}

export class PersonSignIn {
  readonly discovery: ProviderDiscovery;

  constructor(
    readonly settings: OidcSignInSettings,
    private readonly deps: PersonSignInDeps,
  ) {
    this.discovery = new ProviderDiscovery({ issuer: settings.issuer, clock: deps.clock, logger: deps.logger });
  }

  /** The source recorded on identities this provider registers. */
  get source(): string {
    return `oidc-sign-in:${this.settings.issuer}`;
  }

  /** Where to send the browser: the provider's authorization endpoint with this sign-in's state, nonce and challenge. */
  async authorizationUrl(pending: { state: string; nonce: string; codeVerifier: string }): Promise<string> {
    const metadata = await this.discovery.metadata();
    const url = new URL(metadata.authorizationEndpoint);
    const params: Record<string, string> = {
      response_type: "code",
      client_id: this.settings.clientId,
      redirect_uri: this.settings.redirectUri,
      scope: this.settings.scopes.join(" "),
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: pkceChallenge(pending.codeVerifier),
      code_challenge_method: "S256",
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  }

  /** Exchanges the authorization code (with the PKCE verifier and the client's secret) for the ID token. */
  async exchangeCode(code: string, codeVerifier: string): Promise<{ ok: true; idToken: string } | PersonRefusal> {
    let metadata: Awaited<ReturnType<ProviderDiscovery["metadata"]>>;
    let answer: { status: number; body: unknown };
    try {
      metadata = await this.discovery.metadata();
      const id = encodeURIComponent(this.settings.clientId);
      const secret = encodeURIComponent(this.settings.clientSecret.reveal());
      answer = await fetchJson(metadata.tokenEndpoint, {
        timeoutMs: 10_000,
        maxBytes: 256 * 1024,
        form: {
          body: new URLSearchParams({
            grant_type: "authorization_code",
            code,
            redirect_uri: this.settings.redirectUri,
            code_verifier: codeVerifier,
          }),
          headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}` },
        },
      });
    } catch (error) {
      if (!(error instanceof KeysUnavailableError)) throw error;
      this.deps.logger.warn({ issuer: this.settings.issuer, err: error.message }, "the code exchange failed");
      return unavailable();
    }
    const body = answer.body as { id_token?: unknown; error?: unknown } | null;
    if (answer.status !== 200) {
      const error = typeof body?.error === "string" && /^[a-z_]{1,64}$/.test(body.error) ? body.error : "error";
      return refusal("code_refused", `the provider refused the authorization code (${error})`);
    }
    if (typeof body?.id_token !== "string") {
      this.deps.logger.warn({ url: describeUrl(metadata.tokenEndpoint) }, "the token endpoint answered no id_token");
      return refusal("code_refused", "the provider answered no ID token (is openid among the scopes?)");
    }
    return { ok: true, idToken: body.id_token };
  }

  /**
   * Verifies an ID token for `audience` and maps it to the person's identity, registering them on first sign-in. Only
   * the verified payload is read; groups come from it alone.
   */
  async admit(idToken: string, audience: Audience): Promise<PersonAdmission> {
    const s = this.settings;
    const clientId = audience.client === "console" ? s.clientId : s.cliClientId;
    if (clientId === null) return refusal("wrong_audience", "this broker takes no command-line sign-in");
    let verified: Awaited<ReturnType<typeof verifyIdToken>>;
    try {
      verified = await verifyIdToken(
        idToken,
        {
          issuer: s.issuer,
          clientId,
          algorithms: s.algorithms,
          leewaySeconds: s.leewaySeconds,
          maxLifetimeSeconds: MAX_ID_TOKEN_LIFETIME_SECONDS,
          maxTokenLength: s.maxTokenLength,
          nonce: audience.client === "console" ? audience.nonce : null,
        },
        this.discovery,
        this.deps.clock.now(),
      );
    } catch (error) {
      if (error instanceof IdTokenError) return refusal(error.reason, error.message);
      throw error;
    }
    const mapped = personFromClaims(verified.payload, { claims: s.claims, groupMapping: s.groupMapping });
    if (!mapped.ok) return refusal("unmapped", mapped.reason);
    const admission = await admitPerson(this.deps.registry, mapped.person, this.source);
    if (!admission.ok) {
      return { ...admission, code: admission.inactive ? "inactive" : "not_a_person" };
    }
    return {
      ok: true,
      identity: admission.identity,
      exp: verified.exp,
      replayKey: verified.replayKey,
      claims: {
        iss: s.issuer,
        sub: String(verified.payload.sub),
        droppedGroups: mapped.person.droppedGroups,
      },
    };
  }

  /** RP-initiated logout at the provider, when its discovery document offers it; null otherwise. */
  async endSessionUrl(idTokenHint: string | null): Promise<string | null> {
    let endpoint: string | null;
    try {
      endpoint = (await this.discovery.metadata()).endSessionEndpoint;
    } catch {
      return null;
    }
    if (endpoint === null) return null;
    const url = new URL(endpoint);
    if (idTokenHint) url.searchParams.set("id_token_hint", idTokenHint);
    url.searchParams.set("client_id", this.settings.clientId);
    url.searchParams.set("post_logout_redirect_uri", this.settings.postLogoutRedirectUri);
    return url.toString();
  }
}

function refusal(code: PersonRefusal["code"], reason: string): PersonRefusal {
  return { ok: false, code, reason };
}

function unavailable(): PersonRefusal {
  return refusal("provider_unavailable", "the identity provider could not be reached; try again shortly");
}
