// A real OpenID provider for tests (the `oidc-provider` package) on 127.0.0.1: a signing key made at start, people with
// passwords and groups, a login form a browser can fill, a confidential console client (code + PKCE, RP-initiated
// logout) and a public CLI client (device authorization grant, RFC 8628; code + PKCE to a loopback redirect, RFC 8252).
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import Provider, { type Configuration } from "oidc-provider";
import { freePort } from "./process-broker.js";

export interface TestPerson {
  /** What is typed in the login form; also the account id and `sub`. */
  readonly login: string;
  readonly password: string;
  readonly email: string;
  readonly name?: string;
  /** Sent as the `groups` claim, in the ID token (not only at userinfo). */
  readonly groups: readonly string[];
}

export interface TestProviderOptions {
  readonly people: readonly TestPerson[];
  /** Redirect URIs of the console client (the broker's callback). */
  readonly redirectUris: readonly string[];
  /** Where the provider may send a browser after RP-initiated logout. */
  readonly postLogoutRedirectUris?: readonly string[];
  /** Lifetime of ID tokens, in seconds. Default 3600. */
  readonly idTokenTtlSeconds?: number;
  /** Client ids; defaults `ephemera-console` and `ephemera-cli`. */
  readonly consoleClientId?: string;
  readonly cliClientId?: string;
}

export interface TestOidcProvider {
  /** `http://127.0.0.1:<port>`: the issuer, exactly as the ID tokens name it. */
  readonly issuer: string;
  readonly consoleClientId: string;
  /** The console client's secret (a test value; configured on the broker through an environment variable). */
  readonly consoleClientSecret: string;
  /** The public client a CLI uses for the device grant: no secret. */
  readonly cliClientId: string;
  /** The public half of the signing key, as the provider publishes it at its jwks_uri. */
  readonly publicJwk: JWK;
  readonly people: readonly TestPerson[];
  /** The `oidc-provider` instance, for tests that need its models (sessions, grants). */
  readonly provider: Provider;
  /**
   * Starts a device authorization (RFC 8628) for the CLI client, as `ephemera login` would: answers the provider's
   * device_code, user_code and verification URIs.
   */
  startDeviceAuthorization(scope?: string): Promise<DeviceAuthorization>;
  /**
   * Completes a device authorization as the person would in a browser, with plain HTTP against the provider's pages:
   * opens verification_uri_complete, confirms the code, signs in with `login` and `password`. Resolves when the
   * provider shows its success page; rejects when it does not (a wrong password, say).
   */
  approveDevice(verificationUriComplete: string, login: string, password: string): Promise<void>;
  /**
   * Signs in at the provider as a browser would for an authorization request (`authorizationUrl`, from the broker's
   * redirect) without following the final redirect: answers the URL the provider sends the browser back to (the
   * broker's callback with code, state and iss).
   */
  authorize(authorizationUrl: string, login: string, password: string): Promise<URL>;
  /** Polls the token endpoint for a device code (interval as the provider asks) until tokens or a final error. */
  pollDeviceToken(deviceCode: string, timeoutMs?: number): Promise<DeviceTokens>;
  close(): Promise<void>;
}

export interface DeviceAuthorization {
  readonly device_code: string;
  readonly user_code: string;
  readonly verification_uri: string;
  readonly verification_uri_complete: string;
  readonly expires_in: number;
  readonly interval?: number;
}

export interface DeviceTokens {
  readonly id_token: string;
  readonly access_token: string;
  readonly expires_in: number;
}

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid: string, error: string | null): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Test IdP sign-in</title></head><body>
<h1>Test IdP</h1>${error ? `<p role="alert">${escapeHtml(error)}</p>` : ""}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label>Username <input name="login" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form></body></html>`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16 * 1024) throw new Error("form too large");
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

/** A cookie-keeping HTTP client for the provider's pages, following no redirect by itself. */
function formClient(issuer: string) {
  const jar = new Map<string, string>();
  const send = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const response = await fetch(new URL(url, issuer), {
      ...init,
      redirect: "manual",
      headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = (pair ?? "").indexOf("=");
      if (at > 0) jar.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
    return response;
  };
  const post = (url: string, fields: Record<string, string>) =>
    send(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    });
  /** Follows redirects by hand, so the jar sees every cookie; answers the last page. */
  const follow = async (first: Response): Promise<Response> => {
    let response = first;
    for (let hops = 0; hops < 10 && response.status >= 300 && response.status < 400; hops++) {
      await response.body?.cancel();
      response = await send(response.headers.get("location") ?? "");
    }
    return response;
  };
  return { send, post, follow };
}

export async function startTestOidcProvider(options: TestProviderOptions): Promise<TestOidcProvider> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = `test-${randomBytes(6).toString("hex")}`;
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: "RS256", use: "sig" };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  const consoleClientId = options.consoleClientId ?? "ephemera-console";
  const cliClientId = options.cliClientId ?? "ephemera-cli";
  const consoleClientSecret = randomBytes(24).toString("base64url");
  const people = new Map(options.people.map((p) => [p.login, p]));

  const configuration: Configuration = {
    clients: [
      {
        client_id: consoleClientId,
        client_secret: consoleClientSecret,
        redirect_uris: [...options.redirectUris],
        post_logout_redirect_uris: [...(options.postLogoutRedirectUris ?? [])],
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
      {
        client_id: cliClientId,
        token_endpoint_auth_method: "none",
        // A native app (RFC 8252): the device grant, and the code grant back to 127.0.0.1 on whatever port it listens.
        application_type: "native",
        grant_types: [DEVICE_GRANT, "authorization_code"],
        response_types: ["code"],
        redirect_uris: ["http://127.0.0.1/callback"],
      },
    ],
    jwks: { keys: [privateJwk] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name"],
      groups: ["groups"],
    },
    // The person's claims go in the ID token itself: the broker reads groups from the signed token only.
    conformIdTokenClaims: false,
    findAccount: (_ctx, id) => {
      const person = people.get(id);
      if (!person) return undefined;
      return {
        accountId: id,
        claims: () => ({
          sub: id,
          email: person.email,
          email_verified: true,
          name: person.name ?? id,
          groups: [...person.groups],
        }),
      };
    },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    ttl: {
      IdToken: options.idTokenTtlSeconds ?? 3600,
      AccessToken: 600,
      AuthorizationCode: 60,
      DeviceCode: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
  };
  const provider = new Provider(issuer, configuration);
  const callback = provider.callback();

  /** The login form and an automatic consent: enough of an IdP's pages for a browser or a test to sign in. */
  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error("interaction mismatch");
    if (details.prompt.name === "login") {
      if (req.method === "POST" && action === "login") {
        const form = await readForm(req);
        const person = people.get(form.get("login") ?? "");
        if (!person || person.password !== form.get("password")) {
          res.writeHead(401, { "content-type": "text/html; charset=utf-8" });
          res.end(loginPage(uid, "Unknown username or wrong password."));
          return;
        }
        await provider.interactionFinished(
          req,
          res,
          { login: { accountId: person.login } },
          { mergeWithLastSubmission: false },
        );
        return;
      }
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      res.end(loginPage(uid, null));
      return;
    }
    if (details.prompt.name === "consent") {
      const { grantId, session, params } = details;
      const missing = details.prompt.details as {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
      };
      const grant = grantId
        ? await provider.Grant.find(grantId)
        : new provider.Grant({ accountId: session?.accountId ?? "", clientId: String(params.client_id) });
      if (!grant) throw new Error("grant not found");
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      await provider.interactionFinished(
        req,
        res,
        { consent: { grantId: await grant.save() } },
        { mergeWithLastSubmission: true },
      );
      return;
    }
    throw new Error(`unexpected prompt ${details.prompt.name}`);
  }

  const server: Server = createServer((req, res) => {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/([a-z]+))?$/.exec((req.url ?? "").split("?")[0] ?? "");
    if (!match) {
      callback(req, res);
      return;
    }
    interaction(req, res, match[1] ?? "", match[2]).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(400, { "content-type": "text/plain" });
      res.end(`interaction failed: ${(error as Error).message}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });

  async function form(path: string, body: Record<string, string>): Promise<{ status: number; json: unknown }> {
    const response = await fetch(`${issuer}${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(body).toString(),
    });
    return { status: response.status, json: await response.json() };
  }

  return {
    issuer,
    consoleClientId,
    consoleClientSecret,
    cliClientId,
    publicJwk,
    people: options.people,
    provider,

    async startDeviceAuthorization(scope = "openid email profile groups") {
      const { status, json } = await form("/device/auth", { client_id: cliClientId, scope });
      if (status !== 200) throw new Error(`device authorization failed: ${status} ${JSON.stringify(json)}`);
      return json as DeviceAuthorization;
    },

    async approveDevice(verificationUriComplete, login, password) {
      const { send, post, follow } = formClient(issuer);
      // The confirm page: a form with the user code and an anti-CSRF field, which the person submits.
      let page = await follow(await send(verificationUriComplete));
      let html = await page.text();
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      const fields = Object.fromEntries(
        [...html.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)].map((m) => [
          m[1] ?? "",
          m[2] ?? "",
        ]),
      );
      if (!action) throw new Error(`no confirm form on the device page (${page.status})`);
      page = await follow(await post(action.replaceAll("&amp;", "&"), { ...fields, confirm: "yes" }));
      html = await page.text();
      const loginAction = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
      if (!loginAction) throw new Error(`no login form after confirming the code (${page.status})`);
      page = await follow(await post(loginAction, { login, password }));
      html = await page.text();
      if (page.status !== 200 || !/success|sign-in complete|you may close/i.test(html)) {
        throw new Error(`the device sign-in did not complete (${page.status})`);
      }
    },

    async authorize(authorizationUrl, login, password) {
      const { send, post } = formClient(issuer);
      let response = await send(authorizationUrl);
      for (let steps = 0; steps < 20; steps++) {
        if (response.status >= 300 && response.status < 400) {
          const location = new URL(response.headers.get("location") ?? "", issuer);
          await response.body?.cancel();
          if (location.origin !== issuer) return location;
          response = await send(location.toString());
          continue;
        }
        const html = await response.text();
        const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
        if (!action) throw new Error(`the provider answered ${response.status} without a login form`);
        response = await post(action, { login, password });
        if (response.status === 401) throw new Error("the provider refused the password");
      }
      throw new Error("the provider never redirected back");
    },

    async pollDeviceToken(deviceCode, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let interval = 1_000;
      while (Date.now() < deadline) {
        const { status, json } = await form("/token", {
          grant_type: DEVICE_GRANT,
          device_code: deviceCode,
          client_id: cliClientId,
        });
        if (status === 200) return json as DeviceTokens;
        const error = (json as { error?: string }).error;
        if (error === "slow_down") interval += 1_000;
        else if (error !== "authorization_pending") throw new Error(`device token refused: ${JSON.stringify(json)}`);
        await new Promise((r) => setTimeout(r, interval));
      }
      throw new Error("the device authorization was not completed in time");
    },

    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
