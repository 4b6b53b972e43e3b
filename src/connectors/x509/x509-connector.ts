// The `x509` connector: short-lived client certificates (X.509-SVIDs) from the broker's own CA. Removal puts the serial
// on the CA's published deny-list (a CRL and a JSON list) until the certificate's notAfter, which ends it anyway.
import { webcrypto } from "node:crypto";
import type { Grant, Millis, RemovalEvidence } from "../../domain/index.js";
import { Secret } from "../../support/index.js";
import type { Connector, CredentialBinding, EntitlementSpec, IssuedCredential, X509Publisher } from "../connector.js";
import type { ConnectorContext, TargetSpec } from "../context.js";
import { entitlementPath } from "../support/settings.js";
import { algorithmOf, CaRing, forX509, generateKeyPair, serialFrom } from "./ca-ring.js";
import { pkix } from "./pkix.js";
import { Revocations, UNKNOWN_CA } from "./revocations.js";
import { type KeyAlgorithm, parseX509EntitlementSettings, parseX509TargetSettings } from "./settings.js";

const LEEWAY_MS = 60_000;

export type X509Connector = Connector & { readonly publisher: X509Publisher };

interface IssuedSerial {
  readonly serial: string;
  readonly ca: string;
  readonly notAfter: Millis;
}

function serialsOf(grant: Grant): IssuedSerial[] {
  const raw = grant.handleData.serials;
  return Array.isArray(raw) ? (raw as IssuedSerial[]) : [];
}

function iso(ms: Millis): string {
  return new Date(ms).toISOString();
}

/** The caller's proven key, when it is one a certificate can carry (P-256 or Ed25519, per the target's algorithm). */
async function boundPublicKey(binding: CredentialBinding | undefined, algorithm: KeyAlgorithm) {
  if (!binding) return null;
  const jwk = binding.publicJwk as webcrypto.JsonWebKey;
  const fits =
    algorithm === "p256" ? jwk.kty === "EC" && jwk.crv === "P-256" : jwk.kty === "OKP" && jwk.crv === "Ed25519";
  if (!fits) {
    throw new Error(`the proven key is not a ${algorithm === "p256" ? "P-256" : "Ed25519"} key this target certifies`);
  }
  return webcrypto.subtle.importKey("jwk", jwk, algorithmOf(algorithm) as webcrypto.EcKeyImportParams, true, [
    "verify",
  ]);
}

export function createX509Connector(target: TargetSpec, ctx: ConnectorContext): X509Connector {
  const settings = parseX509TargetSettings(target.id, target.settings);
  const ring = new CaRing({
    targetId: target.id,
    store: ctx.store,
    sealer: ctx.sealer,
    clock: ctx.clock,
    keyAlgorithm: settings.keyAlgorithm,
    caValidityMs: settings.caValiditySeconds * 1000,
    maxCertificateMs: settings.maxCertificateSeconds * 1000,
    leewayMs: LEEWAY_MS,
  });
  const revocations = new Revocations(target.id, ctx.store, ctx.clock, LEEWAY_MS);

  async function certify(
    identityId: string,
    entitlement: EntitlementSpec,
    expiresAt: Millis,
    serial: string,
    binding: CredentialBinding | undefined,
  ): Promise<{ credential: IssuedCredential; issued: IssuedSerial }> {
    const x509 = await pkix();
    const { spiffePath } = parseX509EntitlementSettings(entitlement);
    const ca = await ring.signing();
    const now = ctx.clock.now();
    // notAfter never passes the grant's expiry (nor the CA's): the certificate ends itself if all else fails.
    const notAfter = Math.min(expiresAt, ca.record.notAfter);
    if (notAfter <= now) throw new Error("certificate expiry must be in the future");
    const shortName = entitlement.name.slice(entitlement.targetId.length + 1);
    const spiffeId = `spiffe://${settings.trustDomain}${spiffePath
      .replaceAll("{identity}", identityId)
      .replaceAll("{entitlement}", shortName)}`;
    const bound = await boundPublicKey(binding, settings.keyAlgorithm);
    const keys = bound ? null : await generateKeyPair(settings.keyAlgorithm);
    const publicKey = bound ?? keys?.publicKey;
    if (!publicKey) throw new Error("no public key to certify");
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: `CN=${identityId}, OU=${entitlement.name}, O=Ephemera`,
      issuer: ca.certificate.subject,
      notBefore: new Date(now - 30_000),
      notAfter: new Date(notAfter),
      signingAlgorithm: algorithmOf(settings.keyAlgorithm),
      publicKey: forX509(publicKey),
      signingKey: forX509(ca.privateKey),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
        new x509.SubjectAlternativeNameExtension([{ type: "url", value: spiffeId }], false),
        await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
        await x509.SubjectKeyIdentifierExtension.create(forX509(publicKey)),
      ],
    });
    const certificatePem = certificate.toString("pem");
    const bundle = (await ring.published()).map((c) => c.record.certificatePem).join("\n");
    const fields: Record<string, string> = {
      certificate: certificatePem,
      caBundle: bundle,
      serial,
      spiffeId,
      expiresAt: iso(notAfter),
    };
    const env: Record<string, string> = { EPHEMERA_TLS_CERT: certificatePem, EPHEMERA_TLS_CA: bundle };
    if (keys) {
      const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
      const keyPem = x509.PemConverter.encode(pkcs8, "PRIVATE KEY");
      fields.privateKey = keyPem;
      env.EPHEMERA_TLS_KEY = keyPem;
    }
    return {
      credential: { fields: new Secret(fields), env: new Secret(env) },
      issued: { serial, ca: ca.record.id, notAfter },
    };
  }

  const publisher: X509Publisher = {
    async caBundle() {
      return (await ring.published()).map((c) => c.record.certificatePem).join("\n");
    },
    async crl() {
      return (await revocations.crlPems(ring, settings.keyAlgorithm)).join("\n");
    },
    revoked: () => revocations.list(),
  };

  return {
    type: "x509",
    targetId: target.id,
    bindsCredentials: true,
    publisher,

    validateEntitlement(entitlement) {
      parseX509EntitlementSettings(entitlement);
      if (entitlement.maxDurationSeconds > settings.maxCertificateSeconds) {
        throw new Error(
          `${entitlementPath(entitlement)}.maxDuration: must not exceed the target's maxCertificateLifetime (${settings.maxCertificateSeconds}s): a retired CA is published only that long`,
        );
      }
    },

    prepare({ grantId }) {
      // The serial is the handle, chosen before anything is signed and derived from the grant: the same on a retry.
      return { handle: serialFrom(`${target.id}:${grantId}:0`), handleData: {} };
    },

    async issue({ grant, identity, entitlement, expiresAt, binding }) {
      const { credential, issued } = await certify(identity.id, entitlement, expiresAt, grant.handle, binding);
      return {
        credential,
        // The proven public key is kept (it is public) so a renewal certifies the same key.
        handleData: { serials: [issued], ...(binding ? { jkt: binding.jkt, publicJwk: binding.publicJwk } : {}) },
      };
    },

    async renew({ grant, identity, entitlement, expiresAt }) {
      // A certificate carries its notAfter: renewal is a new certificate with a new serial; the old one lapses.
      const previous = serialsOf(grant);
      const serial = serialFrom(`${target.id}:${grant.id}:${previous.length}`);
      const binding =
        typeof grant.handleData.jkt === "string" && typeof grant.handleData.publicJwk === "object"
          ? (grant.handleData as unknown as CredentialBinding)
          : undefined;
      const { credential, issued } = await certify(identity.id, entitlement, expiresAt, serial, binding);
      return { credential, handleData: { serials: [...previous, issued] } };
    },

    async revoke({ grant }) {
      const serials = serialsOf(grant);
      // A grant that never reached issue has no certificate: its prepared serial was never signed. Listing it anyway
      // costs nothing and covers an issue whose commit was lost.
      const entries =
        serials.length > 0
          ? serials
          : [{ serial: grant.handle, ca: UNKNOWN_CA, notAfter: Math.max(grant.expiresAt, grant.maxExpiresAt) }];
      const added = await revocations.revoke(entries, { grantId: grant.id, identityId: grant.identityId });
      // A certificate is not a session: what stops its use is the serial on the CRL every relying party reads.
      return { removed: added.map((serial) => `certificate serial ${serial}`), sessionsEnded: null };
    },

    async verifyRemoved({ grant }) {
      const x509 = await pkix();
      const checkedAt = ctx.clock.now();
      const serials = serialsOf(grant);
      const checks: RemovalEvidence["checks"][number][] = [];
      const crlText = serials.length > 0 ? await publisher.crl() : "";
      const listed = new Set<string>();
      for (const pem of crlText.split(/(?=-----BEGIN X509 CRL-----)/).filter((p) => p.includes("BEGIN X509 CRL"))) {
        for (const entry of new x509.X509Crl(pem).entries) listed.add(entry.serialNumber.toLowerCase());
      }
      for (const issued of serials) {
        if (checkedAt >= issued.notAfter) {
          checks.push({
            check: "x509.expiry",
            passed: true,
            observed: `certificate ${issued.serial} expired at ${iso(issued.notAfter)}; checked at ${iso(checkedAt)}`,
          });
          continue;
        }
        const entry = await revocations.lookup(issued.serial);
        checks.push({
          check: "x509.denylist",
          passed: entry !== null,
          observed: entry
            ? `serial ${issued.serial} on the deny-list since ${iso(entry.revokedAt)}, until ${iso(issued.notAfter)}`
            : `serial ${issued.serial} not on the deny-list`,
        });
        checks.push({
          check: "x509.crl",
          passed: listed.has(issued.serial.toLowerCase()),
          observed: listed.has(issued.serial.toLowerCase())
            ? `serial ${issued.serial} listed in the CRL signed by CA ${issued.ca}`
            : `serial ${issued.serial} absent from the published CRLs`,
        });
      }
      if (serials.length === 0) {
        checks.push({ check: "x509.none_issued", passed: true, observed: "no certificate was issued for this grant" });
      }
      return { removed: checks.every((c) => c.passed), evidence: { checkedAt, checks } };
    },

    async listAccounts() {
      // Certificates are not accounts: nothing lives in a target to reconcile. notAfter and the CRL cover removal.
      return [];
    },

    async removeAccount() {
      return false;
    },

    async rotateAdminSecret() {
      const id = await ring.rotate("requested");
      return {
        rotated: true,
        detail: `issuing CA rotated (new CA ${id}); the previous CA stays published, and signs its CRL, until its last certificate expires`,
      };
    },

    async healthy() {
      await ring.signing();
      return true;
    },

    async close() {},
  };
}
