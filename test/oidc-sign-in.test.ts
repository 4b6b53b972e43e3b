// People sign in with the company's identity provider, against a real OpenID provider (oidc-provider) for the code
// flow and the command line's device grant, and against a small fake provider that serves crafted ID tokens for the
// refusals the real one cannot be made to produce. Every refusal answers no session and leaves an audit event.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildConfig } from "../src/config/load.js";
import { generateApiKey } from "../src/identity/api-keys.js";
import {
  b64,
  makeKey,
  type RecordingServer,
  recordingServer,
  signCompact,
  type TestKey,
} from "../src/identity/testing/test-issuer.js";
import { type Broker, startBroker } from "../src/main.js";
import { silentLogger } from "../src/support/logger.js";
import { testConfigDocument } from "./support/broker.js";
import { startTestOidcProvider, type TestOidcProvider } from "./support/oidc-provider.js";
import { freePort } from "./support/process-broker.js";

// The broker is driven with inject(); this URL is only what it calls itself (the redirect URI it registers).
const PUBLIC_URL = "http://127.0.0.1:9";
const CALLBACK = `${PUBLIC_URL}/v1/sessions/oidc/callback`;

interface Env {
  broker: Broker;
  dir: string;
  adminKey: string;
  close(): Promise<void>;
}

async function startWith(oidc: Record<string, unknown>, secret: string): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), "ephemera-oidc-"));
  const secretFile = join(dir, "client-secret");
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  const keys = { ci: generateApiKey(), other: generateApiKey(), admin: generateApiKey() };
  const base = testConfigDocument(join(dir, "data"), keys);
  const document = {
    ...base,
    // Each test signs in many times from one address: the per-source sign-in limit is tested elsewhere.
    server: { listen: "127.0.0.1:0", publicUrl: PUBLIC_URL, rateLimit: false },
    console: { signIn: { oidc: { clientSecret: { file: secretFile }, ...oidc } } },
  };
  const broker = await startBroker(buildConfig(document, "test"), { logger: silentLogger(), listen: false });
  return {
    broker,
    dir,
    adminKey: keys.admin.key,
    async close() {
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Injected = Awaited<ReturnType<Broker["app"]["inject"]>>;

function cookieOf(response: Injected, name: string): string | null {
  const header = response.headers["set-cookie"];
  const lines = Array.isArray(header) ? header : header ? [String(header)] : [];
  for (const line of lines) {
    const [pair] = line.split(";");
    if (pair?.startsWith(`${name}=`)) return pair.slice(name.length + 1) || null;
  }
  return null;
}

/** Starts a console sign-in: the provider's authorization URL and the browser's pending-sign-in cookie. */
async function begin(env: Env): Promise<{ authorizationUrl: string; pending: string }> {
  const started = await env.broker.app.inject({ method: "GET", url: "/v1/sessions/oidc/authorize" });
  expect(started.statusCode).toBe(302);
  const pending = cookieOf(started, "ephemera_oidc");
  expect(String(started.headers["set-cookie"])).toContain("HttpOnly; SameSite=Lax");
  return { authorizationUrl: String(started.headers.location), pending: pending ?? "" };
}

async function callback(env: Env, query: string, pending: string | null): Promise<Injected> {
  return env.broker.app.inject({
    method: "GET",
    url: `/v1/sessions/oidc/callback?${query}`,
    headers: pending ? { cookie: `ephemera_oidc=${pending}` } : {},
  });
}

async function auditOf(env: Env) {
  return env.broker.deps.store.listAudit(0, 10_000);
}

/** Expects a refusal: a problem, no session cookie, and an auth.failed event naming `reason`. */
async function expectRefused(env: Env, response: Injected, reason: string, status = 401): Promise<void> {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers["content-type"]).toContain("application/problem+json");
  expect(cookieOf(response, "ephemera_session")).toBeNull();
  const events = (await auditOf(env)).filter((e) => e.code === "auth.failed" || e.code === "auth.forbidden");
  expect(events.map((e) => e.data.refused)).toContain(reason);
}

describe("signing in with a real OpenID provider", () => {
  let idp: TestOidcProvider;
  let env: Env;

  beforeAll(async () => {
    idp = await startTestOidcProvider({
      people: [
        { login: "dana", password: "dana-pass", email: "dana@example.test", groups: ["ops-approvers", "staff"] },
        { login: "erin", password: "erin-pass", email: "erin@example.test", groups: ["staff"] },
      ],
      redirectUris: [CALLBACK],
      postLogoutRedirectUris: [`${PUBLIC_URL}/ui/`],
    });
    env = await startWith(
      {
        name: "Test IdP",
        issuer: idp.issuer,
        clientId: idp.consoleClientId,
        cliClientId: idp.cliClientId,
        scopes: ["openid", "email", "profile", "groups"],
        groupMapping: { "ops-approvers": ["approvers", "ci"] },
      },
      idp.consoleClientSecret,
    );
  });
  afterAll(async () => {
    await env?.close();
    await idp?.close();
  });

  it("tells the console and the command line how to sign in; API-key sign-in is off once OIDC is set", async () => {
    const methods = await env.broker.app.inject({ method: "GET", url: "/v1/sessions/methods" });
    expect(methods.json()).toStrictEqual({
      apiKey: false,
      oidc: { name: "Test IdP", authorizeUrl: "/v1/sessions/oidc/authorize" },
      cli: {
        issuer: idp.issuer,
        clientId: idp.cliClientId,
        scopes: ["openid", "email", "profile", "groups"],
        sessionUrl: "/v1/sessions/oidc",
      },
    });
    const withKey = await env.broker.app.inject({
      method: "POST",
      url: "/v1/sessions",
      payload: { apiKey: env.adminKey },
    });
    expect(withKey.statusCode).toBe(403);
    expect(withKey.json().detail).toContain("console.signIn.apiKey");
  });

  it("signs a person in through the provider's login form: a human identity with the mapped groups, then signs out with RP-initiated logout", async () => {
    const { authorizationUrl, pending } = await begin(env);
    const sent = new URL(authorizationUrl);
    expect(sent.searchParams.get("code_challenge_method")).toBe("S256");
    expect(sent.searchParams.get("redirect_uri")).toBe(CALLBACK);
    const back = await idp.authorize(authorizationUrl, "dana", "dana-pass");
    expect(back.origin + back.pathname).toBe(CALLBACK);
    // A groups parameter added to the callback is ignored: groups come from the signed ID token alone.
    const done = await callback(env, `${back.searchParams.toString()}&groups=admins`, pending);
    expect(done.statusCode, done.body).toBe(302);
    expect(done.headers.location).toBe("/ui/");
    const session = cookieOf(done, "ephemera_session");
    expect(session).not.toBeNull();
    expect(String(done.headers["set-cookie"])).toContain("HttpOnly; SameSite=Strict");

    const who = await env.broker.app.inject({
      method: "GET",
      url: "/v1/sessions",
      headers: { cookie: `ephemera_session=${session}` },
    });
    expect(who.json().identity).toStrictEqual({
      id: "dana@example.test",
      kind: "human",
      owner: "dana@example.test",
      groups: ["approvers", "ci"],
      admin: false,
      privileges: [],
    });
    // The session ends no later than the ID token (an hour here), not after the broker's 8 h.
    const expiresIn = Date.parse(who.json().expiresAt) - Date.now();
    expect(expiresIn).toBeLessThanOrEqual(3600_000);
    expect(expiresIn).toBeGreaterThan(3500_000);
    const signedIn = (await auditOf(env)).find((e) => e.code === "console.signed_in");
    expect(signedIn?.data).toMatchObject({ method: "oidc" });
    expect(JSON.stringify(await auditOf(env))).not.toContain(back.searchParams.get("code") ?? "no code");

    const out = await env.broker.app.inject({
      method: "DELETE",
      url: "/v1/sessions",
      headers: { cookie: `ephemera_session=${session}`, "x-csrf-token": who.json().csrfToken },
    });
    expect(out.statusCode).toBe(200);
    const logout = new URL(out.json().logoutUrl);
    expect(logout.origin + logout.pathname).toBe(`${idp.issuer}/session/end`);
    expect(logout.searchParams.get("post_logout_redirect_uri")).toBe(`${PUBLIC_URL}/ui/`);
    expect(logout.searchParams.get("id_token_hint")?.split(".")).toHaveLength(3);
    const after = await env.broker.app.inject({
      method: "GET",
      url: "/v1/grants",
      headers: { cookie: `ephemera_session=${session}` },
    });
    expect(after.statusCode).toBe(401);
  });

  it("refuses a wrong state, and leaves the browser's sign-in in progress", async () => {
    const { authorizationUrl, pending } = await begin(env);
    const back = await idp.authorize(authorizationUrl, "erin", "erin-pass");
    const forged = new URLSearchParams(back.searchParams);
    forged.set("state", "not-the-state");
    await expectRefused(env, await callback(env, forged.toString(), pending), "wrong_state");
    // The real callback still completes.
    const done = await callback(env, back.searchParams.toString(), pending);
    expect(done.statusCode, done.body).toBe(302);
  });

  it("refuses a callback without this browser's sign-in, and a replayed authorization code", async () => {
    const first = await begin(env);
    const back = await idp.authorize(first.authorizationUrl, "erin", "erin-pass");
    await expectRefused(env, await callback(env, back.searchParams.toString(), null), "no_sign_in");
    expect((await callback(env, back.searchParams.toString(), first.pending)).statusCode).toBe(302);
    // Used once: the same callback again finds no sign-in; and the code under a new sign-in's state is refused by
    // the provider, which has already redeemed it.
    await expectRefused(env, await callback(env, back.searchParams.toString(), first.pending), "no_sign_in");
    const second = await begin(env);
    const replay = new URLSearchParams(back.searchParams);
    replay.set("state", new URL(second.authorizationUrl).searchParams.get("state") ?? "");
    await expectRefused(env, await callback(env, replay.toString(), second.pending), "code_refused");
  });

  it("opens a command-line session from a device grant; the bearer works on the API until the person is offboarded", async () => {
    const device = await idp.startDeviceAuthorization();
    await idp.approveDevice(device.verification_uri_complete, "dana", "dana-pass");
    const tokens = await idp.pollDeviceToken(device.device_code);
    const opened = await env.broker.app.inject({
      method: "POST",
      url: "/v1/sessions/oidc",
      payload: { idToken: tokens.id_token },
    });
    expect(opened.statusCode, opened.body).toBe(201);
    const body = opened.json();
    expect(body).toMatchObject({ tokenType: "Bearer", identity: { id: "dana@example.test", kind: "human" } });
    expect(body.token).toMatch(/^ephs_[0-9a-z]{16}_[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(body.expiresAt) - Date.now()).toBeLessThanOrEqual(3600_000);
    expect(JSON.stringify(await auditOf(env))).not.toContain(body.token);
    expect(JSON.stringify(await auditOf(env))).not.toContain(tokens.id_token);
    const bearer = { authorization: `Bearer ${body.token}` };
    expect((await env.broker.app.inject({ method: "GET", url: "/v1/grants", headers: bearer })).statusCode).toBe(200);

    // One ID token, one session.
    const again = await env.broker.app.inject({
      method: "POST",
      url: "/v1/sessions/oidc",
      payload: { idToken: tokens.id_token },
    });
    await expectRefused(env, again, "replayed");

    // Offboarding ends it at once.
    const offboard = await env.broker.app.inject({
      method: "POST",
      url: "/v1/identities/dana@example.test/offboard",
      headers: { authorization: `Bearer ${env.adminKey}` },
      payload: { reason: "left the company" },
    });
    expect(offboard.statusCode, offboard.body).toBe(200);
    const after = await env.broker.app.inject({ method: "GET", url: "/v1/grants", headers: bearer });
    expect(after.statusCode).toBe(403);
    expect(after.json().code).toBe("identity_inactive");
    // And an offboarded person cannot sign in again.
    const { authorizationUrl, pending } = await begin(env);
    const back = await idp.authorize(authorizationUrl, "dana", "dana-pass");
    await expectRefused(env, await callback(env, back.searchParams.toString(), pending), "inactive", 403);
  });
});

describe("refusing crafted ID tokens at the console's callback", () => {
  let fake: RecordingServer;
  let key: TestKey;
  let env: Env;

  beforeAll(async () => {
    fake = await recordingServer();
    key = await makeKey("fake-1", "RS256");
    fake.route("/.well-known/openid-configuration", {
      json: {
        issuer: fake.url,
        authorization_endpoint: `${fake.url}/authorize`,
        token_endpoint: `${fake.url}/token`,
        jwks_uri: `${fake.url}/jwks`,
      },
    });
    fake.route("/jwks", { json: { keys: [key.publicJwk] } });
    env = await startWith({ issuer: fake.url, clientId: "console" }, "fake-secret-value");
  });
  afterAll(async () => {
    await env?.close();
    await fake?.close();
  });

  /** Runs a sign-in whose token endpoint answers `idToken(nonce)`; answers the callback's response. */
  async function signInWith(idToken: (nonce: string) => string, extra: Record<string, unknown> = {}) {
    const { authorizationUrl, pending } = await begin(env);
    const sent = new URL(authorizationUrl).searchParams;
    fake.route("/token", { json: { token_type: "Bearer", id_token: idToken(sent.get("nonce") ?? ""), ...extra } });
    return callback(env, `code=c-${Math.random()}&state=${sent.get("state")}`, pending);
  }
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (nonce: string, over: Record<string, unknown> = {}) => ({
    iss: fake.url,
    aud: "console",
    sub: "frank",
    email: "frank@example.test",
    nonce,
    iat: now(),
    exp: now() + 600,
    ...over,
  });
  const signed = (payload: unknown) => signCompact({ alg: "RS256", kid: "fake-1" }, payload, key);

  it("accepts a well-made token, and takes no group from outside it (the token response's own fields)", async () => {
    const done = await signInWith((n) => signed(claims(n)), { groups: ["approvers"], userinfo: { groups: ["x"] } });
    expect(done.statusCode, done.body).toBe(302);
    expect((await env.broker.deps.store.getIdentity("frank@example.test"))?.groups).toStrictEqual([]);
  });

  it.each([
    ["wrong_nonce", (n: string) => signed(claims(`${n}x`))],
    ["wrong_issuer", (n: string) => signed(claims(n, { iss: "https://other-idp.example" }))],
    ["wrong_audience", (n: string) => signed(claims(n, { aud: "another-client" }))],
    ["expired", (n: string) => signed(claims(n, { iat: now() - 7200, exp: now() - 3600 }))],
    ["algorithm_not_allowed", (n: string) => `${b64({ alg: "none", kid: "fake-1" })}.${b64(claims(n))}.AAAA`],
    ["bad_signature", (n: string) => `${signed(claims(n)).slice(0, -8)}AAAAAAAA`],
  ])("refuses %s with no session and an audit event", async (reason, idToken) => {
    await expectRefused(env, await signInWith(idToken), reason);
  });
});

describe("a provider that cannot be reached", () => {
  it("answers 502 at the start of a sign-in, writes no pending sign-in, and audits the refusal", async () => {
    const env = await startWith(
      { issuer: `http://127.0.0.1:${await freePort()}`, clientId: "console" },
      "secret-value",
    );
    try {
      const started = await env.broker.app.inject({ method: "GET", url: "/v1/sessions/oidc/authorize" });
      await expectRefused(env, started, "provider_unavailable", 502);
      expect(cookieOf(started, "ephemera_oidc")).toBeNull();
      expect((await auditOf(env)).map((e) => e.code)).not.toContain("console.sign_in_started");
    } finally {
      await env.close();
    }
  });
});
