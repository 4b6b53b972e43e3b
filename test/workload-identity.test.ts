// Workload identity through the whole broker: OIDC tokens admitted by trust rules, single use across concurrent
// requests, DPoP-bound tokens a resource server refuses without the key, x509 publication, and mTLS on real TLS.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildConfig } from "../src/config/load.js";
import { issueTestCert, makeTestCa, type TestCa, type TestCert } from "../src/connectors/x509/testing/pki.js";
import { generateApiKey } from "../src/identity/api-keys.js";
import { checkTokenBinding, DpopError } from "../src/identity/dpop.js";
import { makeKey, signCompact, type TestKey } from "../src/identity/testing/test-issuer.js";
import { type Broker, startBroker } from "../src/main.js";
import { silentLogger } from "../src/support/logger.js";

const ISSUER = "https://token.actions.githubusercontent.com";
const AUD = "ephemera";
const PUBLIC_URL = "http://127.0.0.1:8720";

function configDocument(dir: string, jwksFile: string, adminKey: ReturnType<typeof generateApiKey>) {
  return {
    dataDir: dir,
    server: { listen: "127.0.0.1:0", publicUrl: PUBLIC_URL },
    logging: { level: "silent" },
    identities: {
      alice: { kind: "human", owner: "security", admin: true, apiKeys: [{ id: adminKey.keyId, hash: adminKey.hash }] },
    },
    authenticators: [
      {
        type: "oidc",
        name: "github",
        issuer: ISSUER,
        audience: AUD,
        jwks: { file: jwksFile },
        algorithms: ["ES256"],
        rules: [
          {
            name: "deploy-main",
            match: { repository: "acme/deploy", ref: "refs/heads/main" },
            identity: "gh-deploy",
            kind: "pipeline",
            owner: "team-web",
            groups: ["ci"],
            attributes: { env: "prod" },
          },
        ],
      },
    ],
    targets: {
      "demo-api": {
        type: "token",
        audience: "https://demo-api.test",
        entitlements: {
          read: { scopes: ["demo.read"], defaultDuration: "5m", maxDuration: "1h" },
          admin: { scopes: ["demo.admin"], defaultDuration: "5m", maxDuration: "1h" },
        },
      },
      mesh: {
        type: "x509",
        trustDomain: "example.org",
        maxCertificateLifetime: "1h",
        entitlements: { client: { spiffePath: "/ci/{identity}", defaultDuration: "10m", maxDuration: "1h" } },
      },
    },
    access: [{ groups: ["ci"], entitlements: ["demo-api/read", "mesh/client"] }],
  };
}

describe("workload identity through the broker", () => {
  let dir: string;
  let broker: Broker;
  let key: TestKey;
  const admin = generateApiKey();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-wid-"));
    key = await makeKey("gh-1", "ES256");
    const jwksFile = join(dir, "jwks.json");
    writeFileSync(jwksFile, JSON.stringify({ keys: [key.publicJwk] }));
    broker = await startBroker(buildConfig(configDocument(dir, jwksFile, admin), "test"), {
      logger: silentLogger(),
      listen: false,
      schedule: false,
    });
  });

  /** Every workload token presented in this suite: none may be found in the data directory afterwards. */
  const presented: string[] = [];

  afterAll(async () => {
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const token = (extra: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return remember(
      signCompact(
        { alg: "ES256", kid: "gh-1", typ: "JWT" },
        {
          iss: ISSUER,
          aud: AUD,
          sub: "repo:acme/deploy:ref:refs/heads/main",
          repository: "acme/deploy",
          ref: "refs/heads/main",
          jti: `run-${Math.random().toString(36).slice(2)}`,
          iat: now,
          nbf: now,
          exp: now + 300,
          ...extra,
        },
        key,
      ),
    );
  };
  const remember = (t: string) => {
    presented.push(t);
    return t;
  };

  const request = (bearer: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    broker.app.inject({
      method: "POST",
      url: "/v1/requests",
      headers: { authorization: `Bearer ${bearer}`, ...headers },
      payload: body,
    });

  it("issues to a CI token admitted by a trust rule, registering the identity with the rule's owner; the decision records how", async () => {
    const response = await request(token(), { entitlement: "demo-api/read" });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.json()).toMatchObject({ grant: { identity: "gh-deploy" } });
    expect(await broker.identities.get("gh-deploy")).toMatchObject({ owner: "team-web", source: "github:deploy-main" });
    const events = await broker.deps.store.listAudit(0, 200);
    const approved = events.find((e) => e.code === "request.approved" && e.identityId === "gh-deploy");
    expect(approved?.actor).toEqual({ type: "identity", id: "gh-deploy" });
    expect(approved?.data).toMatchObject({
      authentication: {
        method: "oidc",
        credentialIdHmac: expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/),
        authenticator: "github",
      },
      sourceAddressHmac: broker.deps.auditHmac.tag("127.0.0.1"),
    });
    // The token id and the address are held only as keyed HMACs: the log alone does not reveal them.
    expect(JSON.stringify(approved?.data)).not.toMatch(/jti:run-|127\.0\.0\.1/);
    expect(approved?.data.authentication).toMatchObject({ rule: "deploy-main" });
  });

  it("issues once per token: the second request is refused 401 token_replayed, audited, while reads with it still work", async () => {
    const t = token();
    expect((await request(t, { entitlement: "demo-api/read" })).statusCode).toBe(201);
    const again = await request(t, { entitlement: "demo-api/read" });
    expect(again.statusCode).toBe(401);
    expect(again.json()).toMatchObject({ code: "token_replayed" });
    const read = await broker.app.inject({
      method: "GET",
      url: "/v1/grants",
      headers: { authorization: `Bearer ${t}` },
    });
    expect(read.statusCode).toBe(200);
    const replayed = (await broker.deps.store.listAudit(0, 500)).filter((e) => e.code === "auth.replayed");
    expect(replayed.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(replayed)).not.toContain(t.split(".")[2]);
  });

  it("a denial uses the token up too: a replayed token never gets a second decision", async () => {
    const t = token();
    expect((await request(t, { entitlement: "demo-api/admin" })).statusCode).toBe(403);
    const again = await request(t, { entitlement: "demo-api/read" });
    expect(again.json()).toMatchObject({ code: "token_replayed" });
  });

  it("20 concurrent requests with one token make exactly one grant", async () => {
    const t = token();
    const before = (await broker.deps.store.listGrants({ identityId: "gh-deploy", limit: 1000 })).length;
    const responses = await Promise.all(Array.from({ length: 20 }, () => request(t, { entitlement: "demo-api/read" })));
    const codes = responses.map((r) => r.statusCode).sort();
    expect(codes.filter((c) => c === 201)).toHaveLength(1);
    expect(codes.filter((c) => c === 401)).toHaveLength(19);
    const after = (await broker.deps.store.listGrants({ identityId: "gh-deploy", limit: 1000 })).length;
    expect(after - before).toBe(1);
  });

  it("refuses a token for another audience, an expired one and one no rule admits, each with a clear 401", async () => {
    for (const [bad, reason] of [
      [token({ aud: "someone-else" }), "another audience"],
      [token({ exp: Math.floor(Date.now() / 1000) - 120 }), "expired"],
      [token({ ref: "refs/heads/feature" }), "no trust rule"],
    ] as const) {
      const response = await request(bad, { entitlement: "demo-api/read" });
      expect(response.statusCode).toBe(401);
      expect(response.json().detail).toContain(reason);
    }
  });

  it("binds the token to a key the caller proves (DPoP): cnf.jkt, introspected; a resource server refuses it without the key", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    const jwk = await exportJWK(publicKey);
    const proof = (htu: string, htm: string, ath?: string) =>
      new SignJWT({ htu, htm, ...(ath ? { ath } : {}) })
        .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk })
        .setIssuedAt()
        .setJti(`p-${Math.random()}`)
        .sign(privateKey);
    const response = await request(
      token(),
      { entitlement: "demo-api/read" },
      { dpop: await proof(`${PUBLIC_URL}/v1/requests`, "POST") },
    );
    expect(response.statusCode, response.body).toBe(201);
    const credential = response.json().credential.fields as { token: string; tokenType: string };
    expect(credential.tokenType).toBe("DPoP");
    const introspected = await broker.app.inject({
      method: "POST",
      url: "/v1/introspect",
      headers: { authorization: `Bearer ${admin.key}` },
      payload: { token: credential.token },
    });
    expect(introspected.json()).toMatchObject({ active: true, token_type: "DPoP", cnf: { jkt: expect.any(String) } });

    // The resource server: verify the token with the broker's JWKS, then the binding with the library.
    const jwks = createLocalJWKSet(broker.tokens.jwks() as never);
    const { payload } = await jwtVerify(credential.token, jwks, { audience: "https://demo-api.test" });
    const url = "https://demo-api.test/orders";
    const { accessTokenHash } = await import("../src/identity/dpop.js");
    const ath = accessTokenHash(credential.token);
    const ok = await checkTokenBinding(payload, await proof(url, "GET", ath), {
      method: "GET",
      url,
      now: Date.now(),
      accessToken: credential.token,
    });
    expect(ok).toEqual({ bound: true });
    await expect(
      checkTokenBinding(payload, undefined, {
        method: "GET",
        url,
        now: Date.now(),
        accessToken: credential.token,
      }),
    ).rejects.toBeInstanceOf(DpopError);
    const thief = await generateKeyPair("ES256");
    const stolenProof = await new SignJWT({ htu: url, htm: "GET", ath })
      .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: await exportJWK(thief.publicKey) })
      .setIssuedAt()
      .setJti("x")
      .sign(thief.privateKey);
    await expect(
      checkTokenBinding(payload, stolenProof, {
        method: "GET",
        url,
        now: Date.now(),
        accessToken: credential.token,
      }),
    ).rejects.toMatchObject({ reason: "key_mismatch" });

    // A proof for another URL is refused at the broker, audited, and nothing is issued.
    const wrong = await request(
      token(),
      { entitlement: "demo-api/read" },
      { dpop: await proof("https://elsewhere.test/v1/requests", "POST") },
    );
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ code: "invalid_dpop_proof", field: "dpop" });
  });

  it("publishes an x509 target's CA bundle, CRL and deny-list, with a revoked serial listed", async () => {
    const response = await request(token(), { entitlement: "mesh/client" });
    expect(response.statusCode, response.body).toBe(201);
    const { grant, credential } = response.json() as {
      grant: { id: string };
      credential: { fields: Record<string, string> };
    };
    expect(credential.fields.spiffeId).toBe("spiffe://example.org/ci/gh-deploy");
    const ca = await broker.app.inject({ method: "GET", url: "/.well-known/ephemera/x509/mesh/ca.pem" });
    expect(ca.statusCode).toBe(200);
    expect(ca.body).toContain("BEGIN CERTIFICATE");
    const revoke = await broker.app.inject({
      method: "POST",
      url: `/v1/grants/${grant.id}/revoke`,
      headers: { authorization: `Bearer ${admin.key}` },
      payload: {},
    });
    expect(revoke.statusCode, revoke.body).toBeLessThan(300);
    const crl = await broker.app.inject({ method: "GET", url: "/.well-known/ephemera/x509/mesh/crl.pem" });
    expect(crl.body).toContain("BEGIN X509 CRL");
    const revoked = await broker.app.inject({ method: "GET", url: "/.well-known/ephemera/x509/mesh/revoked.json" });
    expect(revoked.json().revoked.map((r: { serial: string }) => r.serial)).toContain(credential.fields.serial);
    expect(
      (await broker.app.inject({ method: "GET", url: "/.well-known/ephemera/x509/nope/crl.pem" })).statusCode,
    ).toBe(404);
  });

  it("keeps no workload token at rest: neither the token nor its signature is in any file of the data directory", async () => {
    expect(presented.length).toBeGreaterThanOrEqual(10);
    const files = readdirSync(dir).map((f) => readFileSync(join(dir, f)).toString("latin1"));
    for (const t of presented) {
      const signature = t.split(".")[2] ?? "";
      for (const text of files) {
        expect(text.includes(t), "a workload token is stored").toBe(false);
        expect(text.includes(signature), "a workload token's signature is stored").toBe(false);
      }
    }
  });
});

describe("mTLS through the broker's own TLS listener", () => {
  let dir: string;
  let broker: Broker;
  let clientCa: TestCa;
  let otherCa: TestCa;
  let good: TestCert;
  const apiKey = generateApiKey();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-mtls-"));
    const serverCa = await makeTestCa("server CA");
    const server = await issueTestCert(serverCa, { server: true });
    clientCa = await makeTestCa("client CA");
    otherCa = await makeTestCa("someone else's CA");
    good = await issueTestCert(clientCa, { uris: ["spiffe://example.org/ns/prod/sa/deployer"] });
    writeFileSync(join(dir, "server.pem"), server.certificatePem);
    writeFileSync(join(dir, "server.key"), server.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, "client-ca.pem"), clientCa.certificatePem);
    const config = buildConfig(
      {
        dataDir: dir,
        server: {
          listen: "127.0.0.1:0",
          tls: { cert: join(dir, "server.pem"), key: join(dir, "server.key"), clientCa: join(dir, "client-ca.pem") },
        },
        logging: { level: "silent" },
        identities: {
          "dev-key": {
            kind: "service_account",
            owner: "team",
            groups: ["ci"],
            apiKeys: [{ id: apiKey.keyId, hash: apiKey.hash }],
          },
        },
        authenticators: [
          {
            type: "mtls",
            name: "mesh",
            trustDomains: ["example.org"],
            rules: [
              {
                match: { spiffe_id: "spiffe://example.org/ns/prod/sa/deployer" },
                identity: "k8s-deployer",
                kind: "workload",
                owner: "team-payments",
                groups: ["ci"],
              },
            ],
          },
        ],
        targets: {
          "demo-api": {
            type: "token",
            audience: "https://demo-api.test",
            entitlements: { read: { scopes: ["demo.read"], defaultDuration: "5m", maxDuration: "1h" } },
          },
        },
        access: [{ groups: ["ci"], entitlements: ["demo-api/read"] }],
      },
      "test",
    );
    broker = await startBroker(config, { logger: silentLogger(), schedule: false });
  });

  afterAll(async () => {
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function post(options: {
    cert?: TestCert;
    bearer?: string;
  }): Promise<{ status: number; body: Record<string, unknown> }> {
    const url = new URL("/v1/requests", broker.url);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: "127.0.0.1",
          port: Number(url.port),
          path: url.pathname,
          method: "POST",
          rejectUnauthorized: false,
          headers: {
            "content-type": "application/json",
            ...(options.bearer ? { authorization: `Bearer ${options.bearer}` } : {}),
          },
          ...(options.cert ? { cert: options.cert.certificatePem, key: options.cert.keyPem } : {}),
        },
        (res) => {
          let text = "";
          res.on("data", (chunk) => {
            text += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || "{}") }));
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify({ entitlement: "demo-api/read" }));
    });
  }

  it("serves HTTPS, admits an X.509-SVID by its SPIFFE ID, and refuses certificates of another CA or without a SPIFFE ID", async () => {
    expect(broker.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ok = await post({ cert: good });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body).toMatchObject({ grant: { identity: "k8s-deployer" } });
    expect(await broker.identities.get("k8s-deployer")).toMatchObject({ owner: "team-payments" });

    const foreign = await post({
      cert: await issueTestCert(otherCa, { uris: ["spiffe://example.org/ns/prod/sa/deployer"] }),
    });
    expect(foreign.status).toBe(401);
    expect(String(foreign.body.detail)).toContain("does not chain to the configured client CA");

    const noId = await post({ cert: await issueTestCert(clientCa, { uris: [] }) });
    expect(noId.status).toBe(401);
    expect(String(noId.body.detail)).toContain("no single SPIFFE ID");

    const otherDomain = await post({ cert: await issueTestCert(clientCa, { uris: ["spiffe://evil.org/x"] }) });
    expect(otherDomain.status).toBe(401);

    // Callers without a certificate still authenticate with a bearer credential on the same listener.
    expect((await post({ bearer: apiKey.key })).status).toBe(201);
    expect((await post({})).status).toBe(401);
  });
});
