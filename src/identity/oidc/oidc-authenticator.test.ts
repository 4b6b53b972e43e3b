// OIDC authentication end to end in-process: CI- and Kubernetes-shaped tokens, trust rules, registration, key fetching.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { issueTestCert, makeTestCa } from "../../connectors/x509/testing/pki.js";
import type { Identity } from "../../domain/types.js";
import { openSqliteStore, type SqliteStore } from "../../storage/sqlite/index.js";
import { ManualClock } from "../../support/clock.js";
import { silentLogger } from "../../support/logger.js";
import { RemoteJwks } from "../jwt/remote-jwks.js";
import { IdentityRegistry } from "../registry.js";
import type { SettingsContext } from "../settings.js";
import { makeKey, type RecordingServer, recordingServer, signCompact, type TestKey } from "../testing/test-issuer.js";
import { createOidcAuthenticator, type OidcSettings, parseOidcSettings } from "./oidc-authenticator.js";

const AUD = "https://ephemera.test";

function settings(raw: Record<string, unknown>, identities = new Map<string, Identity>()): OidcSettings {
  const problems: string[] = [];
  const ctx: SettingsContext = { at: "authenticators.0", identities, problems, readFile: () => null };
  const parsed = parseOidcSettings({ type: "oidc", name: "ci", audience: AUD, ...raw }, ctx);
  if (problems.length > 0) throw new Error(problems.join("\n"));
  return parsed;
}

const deployRule = {
  name: "deploy-main",
  match: { repository: "acme/deploy", ref: "refs/heads/main" },
  identity: "ci-deploy",
  owner: "team-payments",
  groups: ["ci"],
  attributes: { env: "prod" },
};

describe("OIDC authenticator", () => {
  let dir: string;
  let store: SqliteStore;
  let clock: ManualClock;
  let registry: IdentityRegistry;
  let server: RecordingServer;
  let rsa: TestKey;
  let rotated: TestKey;

  beforeAll(async () => {
    rsa = await makeKey("gh-1", "RS256");
    rotated = await makeKey("gh-2", "RS256");
  });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-oidc-"));
    store = await openSqliteStore(join(dir, "t.db"));
    clock = new ManualClock(Date.now());
    registry = new IdentityRegistry(store, clock, silentLogger());
    server = await recordingServer();
  });

  afterEach(async () => {
    await server.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const now = () => Math.floor(clock.now() / 1000);
  const github = (issuer: string, extra: Record<string, unknown> = {}) => ({
    iss: issuer,
    aud: AUD,
    sub: "repo:acme/deploy:ref:refs/heads/main",
    repository: "acme/deploy",
    repository_owner: "acme",
    ref: "refs/heads/main",
    workflow: "deploy",
    run_id: "42",
    jti: `jti-${Math.random()}`,
    iat: now(),
    nbf: now(),
    exp: now() + 300,
    ...extra,
  });

  function discovery(keys: TestKey[]) {
    server.route("/.well-known/openid-configuration", {
      json: { issuer: server.url, jwks_uri: `${server.url}/keys` },
    });
    server.route("/keys", { json: { keys: keys.map((k) => k.publicJwk) } });
  }

  it("admits a GitHub Actions token through its trust rule, registers the identity with the rule's owner, and reports facts", async () => {
    discovery([rsa]);
    const auth = createOidcAuthenticator(
      settings({ issuer: server.url, allowInsecureLoopback: true, rules: [deployRule] }),
      { registry, clock, logger: silentLogger() },
    );
    const claims = github(server.url);
    const token = signCompact({ alg: "RS256", kid: "gh-1", typ: "JWT", x5t: "thumb" }, claims, rsa);
    expect(auth.accepts({ authorization: `Bearer ${token}` })).toBe(true);
    const result = await auth.authenticate({ authorization: `Bearer ${token}` });
    expect(result).toMatchObject({
      ok: true,
      method: "oidc",
      credentialId: `jti:${claims.jti}`,
      identity: { id: "ci-deploy", owner: "team-payments", groups: ["ci"], attributes: { env: "prod" }, admin: false },
      claims: { repository: "acme/deploy", ref: "refs/heads/main", authenticator: "ci", rule: "deploy-main" },
      singleUse: { key: `oidc:ci:jti:${claims.jti}`, until: (claims.exp + 30) * 1000 },
    });
    expect(await registry.get("ci-deploy")).toMatchObject({ source: "ci:deploy-main", owner: "team-payments" });
    const events = await store.listAudit(0, 10);
    expect(events.map((e) => e.code)).toEqual(["identity.registered"]);

    // Another ref matches no rule; an offboarded identity is refused even with a matching token.
    const feature = signCompact({ alg: "RS256", kid: "gh-1" }, github(server.url, { ref: "refs/heads/x" }), rsa);
    const refused = await auth.authenticate({ authorization: `Bearer ${feature}` });
    expect(refused).toMatchObject({ ok: false, reason: expect.stringContaining("no trust rule") });
    const record = await registry.get("ci-deploy");
    if (!record) throw new Error("not registered");
    await store.apply({
      writes: [
        {
          kind: "updateIdentity",
          identity: { ...record, status: "offboarded", version: record.version + 1 },
          expectedVersion: record.version,
        },
      ],
      audit: [{ ...events[0]!, code: "identity.updated", data: {} }],
    });
    const again = signCompact({ alg: "RS256", kid: "gh-1" }, github(server.url), rsa);
    expect(await auth.authenticate({ authorization: `Bearer ${again}` })).toMatchObject({
      ok: false,
      reason: "identity 'ci-deploy' is offboarded",
    });
  });

  it("takes Kubernetes service-account tokens (no typ, nested claims) from a static JWKS, matched on namespace and account", async () => {
    const k8s = await makeKey("k8s-1", "RS256");
    // The static set, as `jwks: { file }` yields it, without a file.
    const staticAuth = createOidcAuthenticator(
      {
        ...settings({
          issuer: "https://kubernetes.default.svc.cluster.local",
          rules: [
            {
              match: { "kubernetes.io.namespace": "payments", "kubernetes.io.serviceaccount.name": "deployer" },
              identity: "k8s-payments-deployer",
              kind: "workload",
              owner: "team-payments",
            },
          ],
        }),
        keys: { kind: "static", keys: [k8s.publicJwk] },
      },
      { registry, clock, logger: silentLogger() },
    );
    const payload = {
      iss: "https://kubernetes.default.svc.cluster.local",
      aud: [AUD, "https://kubernetes.default.svc"],
      sub: "system:serviceaccount:payments:deployer",
      "kubernetes.io": { namespace: "payments", serviceaccount: { name: "deployer", uid: "u-1" } },
      iat: now(),
      nbf: now(),
      exp: now() + 3600,
    };
    const token = signCompact({ alg: "RS256", kid: "k8s-1" }, payload, k8s);
    const result = await staticAuth.authenticate({ authorization: `Bearer ${token}` });
    expect(result).toMatchObject({ ok: true, identity: { id: "k8s-payments-deployer", kind: "workload" } });
    // No jti: the token's hash is the single-use key.
    if (result.ok) expect(result.credentialId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(staticAuth.accepts({ authorization: `Bearer ${token}` })).toBe(true);
  });

  it("fetches keys only when the first token arrives, refetches on an unknown kid at most once per 30 s, and says so when it cannot", async () => {
    const auth = createOidcAuthenticator(
      settings({ issuer: server.url, allowInsecureLoopback: true, rules: [deployRule] }),
      { registry, clock, logger: silentLogger() },
    );
    expect(server.total()).toBe(0);
    // Issuer down (no routes yet): a clear refusal, not a crash.
    const first = signCompact({ alg: "RS256", kid: "gh-1" }, github(server.url), rsa);
    expect(await auth.authenticate({ authorization: `Bearer ${first}` })).toMatchObject({
      ok: false,
      reason: expect.stringContaining("signing keys could not be fetched"),
    });
    discovery([rsa]);
    clock.advance(2_000);
    expect((await auth.authenticate({ authorization: `Bearer ${first}` })).ok).toBe(true);
    const fetchedKeys = server.hits.get("/keys");
    expect(fetchedKeys).toBe(1);

    // The issuer rotates: the new kid triggers one refetch; junk kids within 30 s trigger none.
    discovery([rsa, rotated]);
    clock.advance(31_000);
    const fresh = signCompact({ alg: "RS256", kid: "gh-2" }, github(server.url), rotated);
    expect((await auth.authenticate({ authorization: `Bearer ${fresh}` })).ok).toBe(true);
    expect(server.hits.get("/keys")).toBe(2);
    for (let i = 0; i < 20; i++) {
      const junk = signCompact({ alg: "RS256", kid: `junk-${i}` }, github(server.url), rotated);
      expect((await auth.authenticate({ authorization: `Bearer ${junk}` })).ok).toBe(false);
    }
    expect(server.hits.get("/keys")).toBe(2);
    clock.advance(30_000);
    const junk = signCompact({ alg: "RS256", kid: "junk-late" }, github(server.url), rotated);
    expect((await auth.authenticate({ authorization: `Bearer ${junk}` })).ok).toBe(false);
    expect(server.hits.get("/keys")).toBe(3);
  });

  it("follows no redirect, reads no oversized document, waits no longer than its timeout, and refuses a discovery document naming another issuer", async () => {
    const elsewhere = await recordingServer();
    try {
      elsewhere.route("/keys", { json: { keys: [rsa.publicJwk] } });
      const lookup = (path: string, extra: Partial<ConstructorParameters<typeof RemoteJwks>[0]> = {}) =>
        new RemoteJwks({
          issuer: server.url,
          source: { url: `${server.url}${path}` },
          allowInsecureLoopback: true,
          clock,
          timeoutMs: 300,
          ...extra,
        });
      server.route("/redirect", { status: 302, headers: { location: `${elsewhere.url}/keys` } });
      await expect(lookup("/redirect").key("gh-1", "RS256")).rejects.toThrow(/could not be fetched/);
      expect(elsewhere.total()).toBe(0);

      server.route("/big", { json: { keys: [rsa.publicJwk], pad: "x".repeat(300 * 1024) } });
      await expect(lookup("/big").key("gh-1", "RS256")).rejects.toThrow(/larger than/);

      server.route("/slow", { hang: true });
      await expect(lookup("/slow").key("gh-1", "RS256")).rejects.toThrow(/TimeoutError/);

      server.route("/.well-known/openid-configuration", {
        json: { issuer: elsewhere.url, jwks_uri: `${elsewhere.url}/keys` },
      });
      const discovering = new RemoteJwks({
        issuer: server.url,
        source: { discovery: true },
        allowInsecureLoopback: true,
        clock,
      });
      await expect(discovering.key("gh-1", "RS256")).rejects.toThrow(/another issuer/);
      expect(elsewhere.total()).toBe(0);
    } finally {
      await elsewhere.close();
    }
  });
});

describe("JWKS over HTTPS", () => {
  it("verifies the issuer's TLS certificate: a JWKS server with a certificate no trusted CA signed is not read", async () => {
    const ca = await makeTestCa("untrusted CA");
    const cert = await issueTestCert(ca, { server: true });
    const key = await makeKey("k", "ES256");
    let hits = 0;
    const server = createHttpsServer({ cert: cert.certificatePem, key: cert.keyPem }, (_req, res) => {
      hits++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [key.publicJwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    try {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/keys`;
      const jwks = new RemoteJwks({
        issuer: "https://issuer.test",
        source: { url },
        allowInsecureLoopback: false,
        clock: new ManualClock(),
        timeoutMs: 2_000,
      });
      await expect(jwks.key("k", "ES256")).rejects.toThrow(/could not be fetched/);
      expect(hits).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("OIDC settings", () => {
  const parse = (raw: Record<string, unknown>, files: Record<string, string> = {}) => {
    const problems: string[] = [];
    parseOidcSettings(
      {
        type: "oidc",
        audience: AUD,
        issuer: "https://token.actions.githubusercontent.com",
        rules: [deployRule],
        ...raw,
      },
      {
        at: "authenticators.0",
        identities: new Map(),
        problems,
        readFile: (path, at) => {
          if (files[path] !== undefined) return files[path];
          problems.push(`${at}: cannot read ${path}: ENOENT`);
          return null;
        },
      },
    );
    return problems;
  };

  it("accepts a complete GitHub Actions entry", () => {
    expect(parse({ algorithms: ["RS256"], leeway: "60s" })).toEqual([]);
  });

  it.each([
    [{ issuer: "http://token.example" }, "authenticators.0.issuer: must use https://"],
    [{ issuer: "http://127.0.0.1:8721" }, "authenticators.0.issuer: uses http://; HTTPS is required"],
    [{ algorithms: ["HS256"] }, "authenticators.0.algorithms.0: must be one of"],
    [{ algorithms: ["none"] }, "authenticators.0.algorithms.0: must be one of"],
    [{ leeway: "2m" }, "authenticators.0.leeway: must be at most 60s"],
    [{ audience: undefined }, "authenticators.0.audience: required"],
    [{ jwks: { url: "http://keys.example/jwks" } }, "authenticators.0.jwks.url: must use https://"],
    [{ jwks: { file: "missing.json" } }, "authenticators.0.jwks.file: cannot read missing.json"],
    [{ surprise: 1 }, "authenticators.0: unknown option 'surprise'"],
    [{ rules: [] }, "authenticators.0.rules: must be a non-empty list"],
    [{ rules: [{ ...deployRule, match: {} }] }, "authenticators.0.rules.0.match: would match every token"],
    [
      { rules: [{ ...deployRule, match: { sub: { glob: "*" } } }] },
      "authenticators.0.rules.0.match.sub: the pattern '*' matches every value",
    ],
    [
      { rules: [{ ...deployRule, match: { iss: "https://token.actions.githubusercontent.com", aud: AUD } }] },
      "authenticators.0.rules.0.match: would match every token",
    ],
    [{ rules: [{ ...deployRule, owner: undefined }] }, "authenticators.0.rules.0.owner: required"],
  ])("refuses %j with a path-named error", (raw, expected) => {
    expect(parse(raw as Record<string, unknown>).join("\n")).toContain(expected);
  });

  it("refuses a JWKS file that holds a private or symmetric key", () => {
    const files = {
      "jwks.json": JSON.stringify({ keys: [{ kty: "oct", k: "c2VjcmV0", kid: "h" }] }),
      "priv.json": JSON.stringify({ keys: [{ kty: "EC", crv: "P-256", x: "a", y: "b", d: "c", kid: "p" }] }),
    };
    expect(parse({ jwks: { file: "jwks.json" } }, files).join("\n")).toContain(
      "authenticators.0.jwks.file: key 0 holds private or symmetric key material",
    );
    expect(parse({ jwks: { file: "priv.json" } }, files).join("\n")).toContain("holds private or symmetric");
  });
});
