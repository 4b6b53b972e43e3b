// The deny-list of an x509 target: revoked serials, durable in the store until the certificate expires, published as
// a CRL per CA (what TLS servers load) and as JSON.
import { systemEvent } from "../../audit/index.js";
import { type StatePort, StateRepository, type Write } from "../../storage/index.js";
import type { Clock } from "../../support/index.js";
import type { RevokedSerial } from "../connector.js";
import { algorithmOf, type CaRing, forX509 } from "./ca-ring.js";
import { pkix } from "./pkix.js";
import type { KeyAlgorithm } from "./settings.js";

/** The CA of a serial revoked before any certificate of its grant was recorded. */
export const UNKNOWN_CA = "unknown";

/** How long a published CRL is valid; relying parties fetch it again before then. */
export const CRL_VALIDITY_MS = 5 * 60_000;

export class Revocations {
  readonly #serials: StateRepository<RevokedSerial>;

  constructor(
    private readonly targetId: string,
    private readonly store: StatePort,
    private readonly clock: Clock,
    private readonly leewayMs: number,
  ) {
    this.#serials = new StateRepository(store, `x509.revoked:${targetId}`);
  }

  async lookup(serial: string): Promise<RevokedSerial | null> {
    return (await this.#serials.get(serial))?.value ?? null;
  }

  /** Live entries: a serial leaves the list once its certificate has expired (and the leeway passed). */
  async list(): Promise<RevokedSerial[]> {
    const now = this.clock.now();
    return (await this.#serials.list())
      .map((row) => row.value)
      .filter((entry) => entry.notAfter + this.leewayMs > now)
      .sort((a, b) => a.revokedAt - b.revokedAt || (a.serial < b.serial ? -1 : 1));
  }

  /** Adds serials not yet on the list, durably and audited in one change set; serials already there are left alone. */
  async revoke(
    entries: readonly Omit<RevokedSerial, "revokedAt">[],
    context: { grantId: string | null; identityId: string | null },
  ): Promise<readonly string[]> {
    const now = this.clock.now();
    const writes: Write[] = [];
    const added: string[] = [];
    for (const entry of entries) {
      if (await this.lookup(entry.serial)) continue;
      const value: RevokedSerial = { ...entry, revokedAt: now };
      writes.push(this.#serials.put(entry.serial, value, Math.max(entry.notAfter, now) + this.leewayMs));
      added.push(entry.serial);
    }
    if (writes.length === 0) return [];
    await this.store.apply({
      writes,
      audit: [systemEvent("x509.revoked", now, "x509-ca", { target: this.targetId, serials: added }, context)],
    });
    return added;
  }

  /**
   * One CRL per published CA, PEM, signed now and valid for CRL_VALIDITY_MS. Each is signed by the CA that issued the
   * serials it lists (RFC 5280 §5: the CRL issuer is the certificate issuer), which is why a retired CA keeps its key,
   * for CRLs only, until its last certificate has expired.
   */
  async crlPems(ring: CaRing, keyAlgorithm: KeyAlgorithm): Promise<string[]> {
    const x509 = await pkix();
    const now = this.clock.now();
    const revoked = await this.list();
    const pems: string[] = [];
    for (const ca of await ring.crlSigners()) {
      const crl = await x509.X509CrlGenerator.create({
        issuer: ca.certificate.subject,
        thisUpdate: new Date(now - 60_000),
        nextUpdate: new Date(now + CRL_VALIDITY_MS),
        signingAlgorithm: algorithmOf(keyAlgorithm),
        signingKey: forX509(ca.privateKey),
        entries: revoked
          // A serial whose CA is unknown (a grant whose issue commit was lost) is listed by every CA: harmless, and
          // whichever signed it, if any did, refuses it.
          .filter((entry) => entry.ca === ca.record.id || entry.ca === UNKNOWN_CA)
          .map((entry) => ({
            serialNumber: entry.serial,
            revocationDate: new Date(entry.revokedAt),
            reason: x509.X509CrlReason.cessationOfOperation,
          })),
        extensions: [await x509.AuthorityKeyIdentifierExtension.create(ca.certificate)],
      });
      // "X509 CRL" is the PEM label OpenSSL (and so Node's TLS `crl` option) reads.
      pems.push(x509.PemConverter.encode(crl.rawData, "X509 CRL"));
    }
    return pems;
  }
}
