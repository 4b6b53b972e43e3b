// The x509 connector against a real TLS server on 127.0.0.1 that loads the broker's CA bundle and CRL: issued
// certificates are accepted, revoked ones refused; CA rotation keeps the old CA published while its certificates live.
import "reflect-metadata";
import { randomBytes, X509Certificate } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { exportJWK, generateKeyPair as joseKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { Grant, Identity } from "../../domain/types.js";
import { spiffeIdOf } from "../../identity/mtls/mtls-authenticator.js";
import { memoryStore } from "../../storage/testing/memory.js";
import { ManualClock } from "../../support/clock.js";
import { silentLogger } from "../../support/logger.js";
import { Sealer } from "../../support/sealer.js";
import type { EntitlementSpec, IssuedCredential } from "../connector.js";
import { activeGrant, describeConnectorContract, issuingGrant } from "../testing/contract.js";
import { issueTestCert, makeTestCa, type TestCert, tlsServerAccepts } from "./testing/pki.js";
import { createX509Connector, type X509Connector } from "./x509-connector.js";

const identity: Identity = {
  id: "ci-deploy",
  kind: "pipeline",
  owner: "team-payments",
  groups: ["ci"],
  attributes: {},
  status: "active",
  admin: false,
};

const entitlement: EntitlementSpec = {
  name: "mesh/client",
  targetId: "mesh",
  defaultDurationSeconds: 600,
  maxDurationSeconds: 3600,
  risk: "low",
  settings: { spiffePath: "/ci/{identity}/{entitlement}" },
};

async function fixture(keyAlgorithm: "p256" | "ed25519" = "p256") {
  const store = memoryStore();
  const clock = new ManualClock(Date.now());
  const sealer = new Sealer(randomBytes(32));
  const connector = createX509Connector(
    {
      id: "mesh",
      type: "x509",
      settings: { trustDomain: "example.org", keyAlgorithm, maxCertificateLifetime: "1h", caValidity: "30d" },
    },
    { store, clock, sealer, logger: silentLogger() },
  );
  return { store, clock, sealer, connector };
}

let serverCert: TestCert;

beforeAll(async () => {
  serverCert = await issueTestCert(await makeTestCa("test server CA"), { server: true });
});

async function accepted(connector: X509Connector, credential: IssuedCredential): Promise<boolean> {
  const fields = credential.fields.reveal();
  const result = await tlsServerAccepts({
    server: serverCert,
    caBundle: await connector.publisher.caBundle(),
    crl: await connector.publisher.crl(),
    client: { certificatePem: fields.certificate ?? "", keyPem: fields.privateKey ?? "" },
  });
  return result.accepted;
}

describeConnectorContract("x509", async () => {
  const f = await fixture();
  return {
    connector: f.connector,
    identity,
    entitlement,
    makeGrant: () => issuingGrant({ connector: f.connector, identity, entitlement, now: f.clock.now() }),
    listsAccounts: false,
    useCredential: (credential) => accepted(f.connector, credential),
    cleanup: async () => {},
  };
});

describe("x509 connector", () => {
  async function issue(
    f: Awaited<ReturnType<typeof fixture>>,
    binding?: { jkt: string; publicJwk: Readonly<Record<string, unknown>> },
  ) {
    const grant = issuingGrant({ connector: f.connector, identity, entitlement, now: f.clock.now() });
    const response = await f.connector.issue({
      grant,
      identity,
      entitlement,
      expiresAt: grant.expiresAt,
      ...(binding ? { binding } : {}),
    });
    return { grant: activeGrant(grant, response) as Grant, response };
  }

  it.each(["p256", "ed25519"] as const)(
    "issues a %s client certificate: SPIFFE URI SAN, clientAuth, not a CA, notAfter at the grant's expiry, serial = handle",
    async (algorithm) => {
      const f = await fixture(algorithm);
      const { grant, response } = await issue(f);
      const fields = response.credential.fields.reveal();
      const cert = new X509Certificate(fields.certificate ?? "");
      expect(spiffeIdOf(cert)?.id).toBe("spiffe://example.org/ci/ci-deploy/client");
      expect(cert.ca).toBe(false);
      expect(cert.serialNumber.toLowerCase()).toBe(grant.handle);
      expect(Date.parse(cert.validTo)).toBeLessThanOrEqual(grant.expiresAt);
      expect(Date.parse(cert.validTo)).toBeGreaterThan(grant.expiresAt - 1000);
      expect(cert.keyUsage).toContain("1.3.6.1.5.5.7.3.2");
      expect(cert.publicKey.asymmetricKeyType).toBe(algorithm === "p256" ? "ec" : "ed25519");
      expect(cert.checkIssued(new X509Certificate(fields.caBundle ?? ""))).toBe(true);
      expect(await accepted(f.connector, response.credential)).toBe(true);
    },
  );

  it("keeps the CA key sealed at rest: the stored record holds no private key, and it opens only under the master key", async () => {
    const f = await fixture();
    await f.connector.healthy();
    const rows = await f.store.listState("x509.ca:mesh");
    expect(rows).toHaveLength(1);
    const text = JSON.stringify(rows);
    expect(text).not.toContain("PRIVATE KEY");
    const record = rows[0]?.value as { id: string; sealedKey: string };
    expect(f.sealer.open(record.sealedKey, `x509.ca:mesh:${record.id}`)).toContain("BEGIN PRIVATE KEY");
    expect(() => new Sealer(randomBytes(32)).open(record.sealedKey, `x509.ca:mesh:${record.id}`)).toThrow();
  });

  it("certifies the caller's own proven key (no private key handed out) when the request carried a DPoP proof", async () => {
    const f = await fixture();
    const { publicKey } = await joseKeyPair("ES256", { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const { response, grant } = await issue(f, { jkt: "thumb", publicJwk: { ...publicJwk } });
    const fields = response.credential.fields.reveal();
    expect(fields.privateKey).toBeUndefined();
    const cert = new X509Certificate(fields.certificate ?? "");
    expect(cert.publicKey.export({ format: "jwk" })).toMatchObject({ x: publicJwk.x, y: publicJwk.y });
    expect(grant.handleData).toMatchObject({ jkt: "thumb" });
  });

  it("rotates its CA with an overlap: certificates of the old CA keep working and can still be revoked, until they expire", async () => {
    const f = await fixture();
    const old = await issue(f);
    const before = new X509Certificate((await f.connector.publisher.caBundle()).split(/(?=-----BEGIN)/)[0] ?? "");
    const rotation = await f.connector.rotateAdminSecret();
    expect(rotation.rotated).toBe(true);
    const fresh = await issue(f);
    const bundle = (await f.connector.publisher.caBundle()).split(/(?=-----BEGIN)/);
    expect(bundle).toHaveLength(2);
    const issuerOf = (r: typeof old) => new X509Certificate(r.response.credential.fields.reveal().certificate ?? "");
    expect(issuerOf(fresh).checkIssued(before)).toBe(false);
    expect(issuerOf(old).checkIssued(before)).toBe(true);
    expect(await accepted(f.connector, old.response.credential)).toBe(true);
    expect(await accepted(f.connector, fresh.response.credential)).toBe(true);

    // The old CA signs the CRL that lists its certificate: a TLS server refuses it, the new one still passes.
    await f.connector.revoke({ grant: old.grant });
    expect(await accepted(f.connector, old.response.credential)).toBe(false);
    expect(await accepted(f.connector, fresh.response.credential)).toBe(true);
    expect((await f.connector.verifyRemoved({ grant: old.grant, probe: null })).removed).toBe(true);

    // Once the old CA's last possible certificate has expired, it is no longer published.
    f.clock.advance(3600_000 + 61_000);
    expect((await f.connector.publisher.caBundle()).split(/(?=-----BEGIN)/)).toHaveLength(1);
    const codes = (await f.store.listAudit(0, 100)).map((e) => e.code);
    expect(codes).toEqual(expect.arrayContaining(["x509.ca_created", "x509.ca_retired", "x509.revoked"]));
  });

  it("publishes the deny-list as a CRL and as JSON until notAfter, with evidence naming each check", async () => {
    const f = await fixture();
    const { grant, response } = await issue(f);
    await f.connector.revoke({ grant });
    await f.connector.revoke({ grant });
    const revoked = await f.connector.publisher.revoked();
    expect(revoked.map((r) => r.serial)).toEqual([grant.handle]);
    const crl = new x509.X509Crl(await f.connector.publisher.crl());
    expect(crl.entries.map((e) => e.serialNumber.toLowerCase())).toEqual([grant.handle]);
    const result = await f.connector.verifyRemoved({ grant, probe: null });
    expect(result.evidence.checks.map((c) => c.check)).toEqual(["x509.denylist", "x509.crl"]);
    f.clock.advance(grant.expiresAt - f.clock.now() + 61_000);
    expect(await f.connector.publisher.revoked()).toEqual([]);
    const later = await f.connector.verifyRemoved({ grant, probe: null });
    expect(later).toMatchObject({ removed: true, evidence: { checks: [{ check: "x509.expiry", passed: true }] } });
    expect(response.credential.fields.reveal().serial).toBe(grant.handle);
  });

  it("refuses settings that would outlive the CA's publication, with the path named", async () => {
    const f = await fixture();
    expect(() => f.connector.validateEntitlement({ ...entitlement, maxDurationSeconds: 7200 })).toThrow(
      "targets.mesh.entitlements.client.maxDuration: must not exceed the target's maxCertificateLifetime (3600s)",
    );
    expect(() =>
      f.connector.validateEntitlement({ ...entitlement, settings: { spiffePath: "/../{identity}" } }),
    ).toThrow("targets.mesh.entitlements.client.spiffePath: must not hold . or .. segments");
  });
});
