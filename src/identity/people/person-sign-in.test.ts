// People signing in with an identity provider: ID tokens verified against the discovered JWKS (every refusal the
// issue lists), claims mapped to a human identity registered on first sign-in, groups from the signed token only.
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { IdentityRecord } from "../../domain/types.js";
import { openSqliteStore, type SqliteStore } from "../../storage/sqlite/index.js";
import { ManualClock } from "../../support/clock.js";
import { silentLogger } from "../../support/logger.js";
import { Secret } from "../../support/secret.js";
import { IdentityRegistry } from "../registry.js";
import {
  b64,
  makeKey,
  type RecordingServer,
  recordingServer,
  signCompact,
  type TestKey,
} from "../testing/test-issuer.js";
import { personFromClaims } from "./claims-mapping.js";
import { type PersonAdmission, PersonSignIn } from "./person-sign-in.js";
import { type OidcSignInSettings, parseOidcSignInSettings } from "./settings.js";

const NOW = Date.UTC(2026, 5, 1, 12);
const NOW_S = NOW / 1000;

describe("person sign-in with an identity provider", () => {
  let idp: RecordingServer;
  let key: TestKey;
  let attacker: TestKey;
  let dir: string;
  let store: SqliteStore;
  let clock: ManualClock;
  let registry: IdentityRegistry;
  let signIn: PersonSignIn;
  let settings: OidcSignInSettings;

  beforeAll(async () => {
    idp = await recordingServer();
    [key, attacker] = await Promise.all([makeKey("idp-1", "RS256"), makeKey("idp-1", "RS256")]);
    idp.route("/.well-known/openid-configuration", {
      json: {
        issuer: idp.url,
        authorization_endpoint: `${idp.url}/authorize`,
        token_endpoint: `${idp.url}/token`,
        jwks_uri: `${idp.url}/jwks`,
        end_session_endpoint: `${idp.url}/logout`,
        code_challenge_methods_supported: ["S256"],
      },
    });
    idp.route("/jwks", { json: { keys: [key.publicJwk] } });
  });
  afterAll(async () => idp?.close());

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-person-"));
    store = await openSqliteStore(join(dir, "t.db"));
    clock = new ManualClock(NOW);
    registry = new IdentityRegistry(store, clock, silentLogger());
    const problems: string[] = [];
    settings = parseOidcSignInSettings(
      { issuer: idp.url, clientId: "console", clientSecret: "s3cret-value", cliClientId: "cli" },
      { at: "console.signIn.oidc", identities: new Map(), problems, readFile: () => null },
      "https://broker.example",
    );
    expect(problems).toStrictEqual([]);
    signIn = new PersonSignIn(settings, { registry, clock, logger: silentLogger() });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const claims = (over: Record<string, unknown> = {}) => ({
    iss: idp.url,
    aud: "console",
    sub: "00u-dana",
    email: "Dana@Example.test",
    email_verified: true,
    groups: ["sre", "Everyone Else"],
    nonce: "n-123",
    iat: NOW_S - 10,
    exp: NOW_S + 3600,
    ...over,
  });
  const token = (over: Record<string, unknown> = {}, header: Record<string, unknown> = {}, k = key) =>
    signCompact({ alg: "RS256", kid: "idp-1", ...header }, claims(over), k);
  const asConsole = (t: string, nonce = "n-123") => signIn.admit(t, { client: "console", nonce });
  const refusedFor = async (result: Promise<PersonAdmission>) => {
    const r = await result;
    if (r.ok) throw new Error("accepted");
    return r.code;
  };

  it("registers a person on first sign-in: human, owning themself, with the groups of the signed token", async () => {
    const result = await asConsole(token());
    expect(result).toMatchObject({ ok: true, exp: NOW_S + 3600 });
    const record = (await registry.get("dana@example.test")) as IdentityRecord;
    expect(record).toMatchObject({ kind: "human", owner: "dana@example.test", groups: ["sre"], admin: false });
    expect(record.source).toBe(`oidc-sign-in:${idp.url}`);
    expect(result.ok && result.claims).toMatchObject({ sub: "00u-dana", droppedGroups: 1 });
    expect((await store.listAudit(0, 10)).map((e) => e.code)).toStrictEqual(["identity.registered"]);
  });

  it("keeps the person's groups in step with the provider on each sign-in", async () => {
    await asConsole(token());
    await asConsole(token({ groups: ["dba"] }));
    expect((await registry.get("dana@example.test"))?.groups).toStrictEqual(["dba"]);
    expect((await store.listAudit(0, 10)).map((e) => e.code)).toStrictEqual([
      "identity.registered",
      "identity.updated",
    ]);
  });

  it("refuses every ID token the issue lists, registering no one", async () => {
    const hs256 = (() => {
      // Key confusion: an HMAC over the token with the provider's public key as the secret.
      const header = { alg: "HS256", kid: "idp-1" };
      const input = `${b64(header)}.${b64(claims())}`;
      const mac = createHmac("sha256", JSON.stringify(key.publicJwk)).update(input).digest("base64url");
      return `${input}.${mac}`;
    })();
    const cases: [string, Promise<PersonAdmission>][] = [
      ["wrong_nonce", asConsole(token({ nonce: "n-other" }))],
      ["wrong_nonce", asConsole(token({ nonce: undefined }))],
      ["wrong_issuer", asConsole(token({ iss: "https://other-idp.example" }))],
      ["wrong_audience", asConsole(token({ aud: "someone-else" }))],
      ["wrong_authorized_party", asConsole(token({ aud: ["console", "someone-else"] }))],
      ["wrong_authorized_party", asConsole(token({ azp: "someone-else" }))],
      ["expired", asConsole(token({ iat: NOW_S - 7200, exp: NOW_S - 3600 }))],
      ["malformed", asConsole(`${b64({ alg: "none" })}.${b64(claims())}.`)],
      ["algorithm_not_allowed", asConsole(`${b64({ alg: "none" })}.${b64(claims())}.AAAA`)],
      ["algorithm_not_allowed", asConsole(hs256)],
      ["bad_signature", asConsole(token({}, {}, attacker))],
      ["bad_claims", asConsole(token({ iat: undefined }))],
      ["unsupported_header", asConsole(token({}, { jwk: attacker.publicJwk }))],
      // A console token is not a command-line token, and the other way round.
      ["wrong_audience", signIn.admit(token(), { client: "cli" })],
    ];
    for (const [code, result] of cases) expect(await refusedFor(result), code).toBe(code);
    expect(await store.listAudit(0, 10)).toStrictEqual([]);
  });

  it("refuses an unverified address as the person's name, and a person the registry has offboarded", async () => {
    expect(await refusedFor(asConsole(token({ email_verified: false })))).toBe("unmapped");
    await asConsole(token());
    const stored = (await store.getIdentity("dana@example.test")) as IdentityRecord;
    await store.apply({
      writes: [
        {
          kind: "updateIdentity",
          identity: { ...stored, status: "offboarded", statusReason: "left", version: stored.version + 1 },
          expectedVersion: stored.version,
        },
      ],
      audit: [
        {
          time: clock.now(),
          code: "identity.offboarded",
          severity: "notice",
          outcome: "success",
          actor: { type: "system", id: "test" },
          requestId: null,
          grantId: null,
          identityId: "dana@example.test",
          data: {},
        },
      ],
    });
    const result = await asConsole(token());
    expect(result).toMatchObject({ ok: false, code: "inactive", inactive: { status: "offboarded" } });
  });

  it("refuses to sign in as an identity of another kind", async () => {
    await registry.syncConfigured([
      { id: "deploy@example.test", kind: "pipeline", owner: "team", groups: [], attributes: {}, admin: false },
    ]);
    expect(await refusedFor(asConsole(token({ email: "deploy@example.test" })))).toBe("not_a_person");
  });

  it("builds the authorization request with PKCE S256, state and nonce, and the logout URL with its hint", async () => {
    const url = new URL(await signIn.authorizationUrl({ state: "st", nonce: "nn", codeVerifier: "v".repeat(43) }));
    expect(url.origin + url.pathname).toBe(`${idp.url}/authorize`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: "code",
      client_id: "console",
      redirect_uri: "https://broker.example/v1/sessions/oidc/callback",
      scope: "openid email profile",
      state: "st",
      nonce: "nn",
      code_challenge_method: "S256",
    });
    const logout = new URL((await signIn.endSessionUrl("the-id-token")) ?? "");
    expect(Object.fromEntries(logout.searchParams)).toStrictEqual({
      id_token_hint: "the-id-token",
      client_id: "console",
      post_logout_redirect_uri: "https://broker.example/ui/",
    });
  });

  it("names the provider's refusal of a code, without the code", async () => {
    idp.route("/token", { status: 400, json: { error: "invalid_grant", error_description: "code abc123 used" } });
    const result = await signIn.exchangeCode("abc123", "v".repeat(43));
    expect(result).toMatchObject({ ok: false, code: "code_refused" });
    expect(JSON.stringify(result)).not.toContain("abc123");
  });
});

describe("claims mapping", () => {
  const base = { iss: "x", sub: "s", aud: "a", exp: 1, iat: 1 };
  const mapping = {
    claims: { subject: "preferred_username", email: "email", groups: "realm_access.roles" },
    groupMapping: new Map([["ops-admins", ["sre", "approvers"]]]),
  };

  it("reads a nested groups claim and takes only mapped groups", () => {
    const result = personFromClaims(
      { ...base, preferred_username: "Lee", realm_access: { roles: ["ops-admins", "offline_access"] } },
      mapping,
    );
    expect(result).toStrictEqual({
      ok: true,
      person: { id: "lee", email: null, groups: ["approvers", "sre"], droppedGroups: 1 },
    });
  });

  it("refuses a subject that cannot be an identity id, and groups that are not a list of strings", () => {
    expect(personFromClaims({ ...base, preferred_username: "Lee Smith" }, mapping).ok).toBe(false);
    expect(personFromClaims({ ...base, preferred_username: "lee", realm_access: { roles: "sre" } }, mapping).ok).toBe(
      false,
    );
  });
});

describe("console.signIn.oidc settings", () => {
  const parse = (raw: Record<string, unknown>) => {
    const problems: string[] = [];
    parseOidcSignInSettings(
      raw,
      { at: "console.signIn.oidc", identities: new Map(), problems, readFile: () => null },
      "https://broker.example",
    );
    return problems;
  };

  it("refuses plain http outside loopback, naming the key", () => {
    expect(
      parse({
        issuer: "http://idp.example",
        clientId: "c",
        clientSecret: "s",
        redirectUri: "http://broker.example/cb",
      }),
    ).toStrictEqual([
      "console.signIn.oidc.issuer: must use https://",
      "console.signIn.oidc.redirectUri: must use https://",
    ]);
  });

  it("needs the client secret and openid among the scopes, and never takes HMAC or none", () => {
    expect(parse({ issuer: "https://idp.example", clientId: "c", scopes: ["email"], algorithms: ["HS256"] })).toEqual([
      "console.signIn.oidc.clientSecret: must be { env: NAME } or { file: PATH } naming the console client's secret",
      "console.signIn.oidc.scopes: must include openid",
      expect.stringMatching(/^console\.signIn\.oidc\.algorithms\.0: must be one of RS256/),
    ]);
  });

  it("keeps the secret out of every printed form", () => {
    const secret = new Secret("s3cret");
    expect(JSON.stringify({ secret })).not.toContain("s3cret");
  });
});
