// The issuing CAs of one x509 target: the current one signs, retired ones stay published while their certificates live.
// Private keys are sealed at rest under the master key; rotation is one audited change set, as for token signing keys.
import { createHash, randomBytes, webcrypto } from "node:crypto";
import type * as X509 from "@peculiar/x509";
import { systemEvent } from "../../audit/index.js";
import type { AuditDraft, Millis } from "../../domain/index.js";
import { type StatePort, StateRepository, type Write } from "../../storage/index.js";
import type { Clock, Sealer } from "../../support/index.js";
import { pkix } from "./pkix.js";
import type { KeyAlgorithm } from "./settings.js";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

export interface StoredCa {
  readonly id: string;
  readonly certificatePem: string;
  /**
   * PKCS#8 PEM sealed under the master key. A retired CA keeps it to sign CRLs for the certificates it issued, until the
   * last of them has expired; then the record and its key are purged together.
   */
  readonly sealedKey: string;
  readonly createdAt: Millis;
  readonly notAfter: Millis;
  readonly retiredAt: Millis | null;
}

export interface LoadedCa {
  readonly record: StoredCa;
  readonly certificate: X509.X509Certificate;
}

export interface SigningCa extends LoadedCa {
  readonly privateKey: CryptoKey;
}

/** The Web Crypto algorithm for a key algorithm setting; for ECDSA it also names the hash signatures use. */
export function algorithmOf(keyAlgorithm: KeyAlgorithm): { name: string; namedCurve?: string; hash?: string } {
  return keyAlgorithm === "p256" ? { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } : { name: "Ed25519" };
}

export function generateKeyPair(keyAlgorithm: KeyAlgorithm): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(algorithmOf(keyAlgorithm) as webcrypto.EcKeyGenParams, true, [
    "sign",
    "verify",
  ]) as Promise<CryptoKeyPair>;
}

/** Node's CryptoKey as @peculiar/x509 types it (the DOM's): the same object at run time. */
export function forX509<T>(key: CryptoKey | CryptoKeyPair): T {
  return key as unknown as T;
}

/** A positive 128-bit serial in hex (RFC 5280 allows up to 20 octets; the top bit clear keeps it positive). */
export function serialFrom(seed: string): string {
  const bytes = createHash("sha256").update(seed).digest().subarray(0, 16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString("hex");
}

const COMPONENT = "x509-ca";

export interface CaRingOptions {
  readonly targetId: string;
  readonly store: StatePort;
  readonly sealer: Sealer;
  readonly clock: Clock;
  readonly keyAlgorithm: KeyAlgorithm;
  readonly caValidityMs: number;
  /** Longest certificate lifetime: a retired CA is published this long (plus leeway) after retirement. */
  readonly maxCertificateMs: number;
  readonly leewayMs: number;
}

export class CaRing {
  readonly namespace: string;
  readonly #o: CaRingOptions;
  readonly #records: StateRepository<StoredCa>;
  #cas: LoadedCa[] = [];
  #signing: SigningCa | null = null;
  readonly #keys = new Map<string, CryptoKey>();
  #refreshedAt = Number.NEGATIVE_INFINITY;
  #rotation: Promise<string> | null = null;

  constructor(options: CaRingOptions) {
    this.#o = options;
    this.namespace = `x509.ca:${options.targetId}`;
    this.#records = new StateRepository(options.store, this.namespace);
  }

  #context(id: string): string {
    return `${this.namespace}:${id}`;
  }

  /** How long a CA record is kept: until the last certificate it could have signed has expired. */
  #publishedUntil(record: StoredCa): Millis | null {
    return record.retiredAt === null ? null : record.retiredAt + this.#o.maxCertificateMs + this.#o.leewayMs;
  }

  async refresh(): Promise<void> {
    const x509 = await pkix();
    const now = this.#o.clock.now();
    this.#refreshedAt = now;
    const cas: LoadedCa[] = [];
    for (const { value: record } of await this.#records.list()) {
      const until = this.#publishedUntil(record);
      if (until !== null && now >= until) continue;
      cas.push({ record, certificate: new x509.X509Certificate(record.certificatePem) });
    }
    cas.sort((a, b) => b.record.createdAt - a.record.createdAt);
    this.#cas = cas;
    const current = cas.find((c) => c.record.retiredAt === null);
    this.#signing = current ? { ...current, privateKey: await this.#privateKey(current.record) } : null;
  }

  async #privateKey(record: StoredCa): Promise<CryptoKey> {
    const x509 = await pkix();
    let key = this.#keys.get(record.id);
    if (!key) {
      const pem = this.#o.sealer.open(record.sealedKey, this.#context(record.id));
      key = await webcrypto.subtle.importKey(
        "pkcs8",
        x509.PemConverter.decodeFirst(pem),
        algorithmOf(this.#o.keyAlgorithm) as webcrypto.EcKeyImportParams,
        false,
        ["sign"],
      );
      this.#keys.set(record.id, key);
    }
    return key;
  }

  /** Every published CA with its key: each signs the CRL of the certificates it issued. */
  async crlSigners(): Promise<readonly SigningCa[]> {
    await this.refresh();
    return Promise.all(this.#cas.map(async (ca) => ({ ...ca, privateKey: await this.#privateKey(ca.record) })));
  }

  /** The CA that signs now; a fresh one when there is none or the current one has too little validity left. */
  async signing(): Promise<SigningCa> {
    const now = this.#o.clock.now();
    // Re-read now and then: another replica may have rotated, and a retired CA must stop signing everywhere.
    if (!this.#signing || now - this.#refreshedAt >= 60_000) await this.refresh();
    const current: SigningCa | null = this.#signing;
    if (current && current.record.notAfter - now > 2 * this.#o.maxCertificateMs) return current;
    await this.rotate(current ? "validity running out" : "initial");
    if (!this.#signing) throw new Error(`x509 target ${this.#o.targetId}: no signing CA after rotation`);
    return this.#signing;
  }

  /** Every published CA (the current one first): what relying parties trust, and whose CRLs are served. */
  async published(): Promise<readonly LoadedCa[]> {
    await this.refresh();
    return this.#cas;
  }

  /** Makes a new CA and retires the others in one audited change set; returns the new CA's id. */
  rotate(reason: string): Promise<string> {
    this.#rotation ??= this.#rotate(reason).finally(() => {
      this.#rotation = null;
    });
    return this.#rotation;
  }

  async #rotate(reason: string): Promise<string> {
    const x509 = await pkix();
    await this.refresh();
    const now = this.#o.clock.now();
    const id = randomBytes(8).toString("hex");
    const keys = await generateKeyPair(this.#o.keyAlgorithm);
    const notAfter = now + this.#o.caValidityMs;
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serialFrom(`ca:${this.#o.targetId}:${id}`),
      name: `CN=Ephemera ${this.#o.targetId} CA ${id}, O=Ephemera`,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(notAfter),
      signingAlgorithm: algorithmOf(this.#o.keyAlgorithm),
      keys: forX509(keys),
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(forX509(keys.publicKey)),
      ],
    });
    const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
    const record: StoredCa = {
      id,
      certificatePem: certificate.toString("pem"),
      sealedKey: this.#o.sealer.seal(x509.PemConverter.encode(pkcs8, "PRIVATE KEY"), this.#context(id)),
      createdAt: now,
      notAfter,
      retiredAt: null,
    };
    const writes: Write[] = [this.#records.put(id, record)];
    const audit: AuditDraft[] = [this.#audit("x509.ca_created", { target: this.#o.targetId, ca: id, reason })];
    for (const { record: old } of this.#cas) {
      if (old.retiredAt !== null) continue;
      const retired: StoredCa = { ...old, retiredAt: now };
      const until = this.#publishedUntil(retired) ?? now;
      writes.push(this.#records.put(old.id, retired, until));
      audit.push(
        this.#audit("x509.ca_retired", {
          target: this.#o.targetId,
          ca: old.id,
          publishedUntil: new Date(until).toISOString(),
        }),
      );
    }
    await this.#o.store.apply({ writes, audit });
    await this.refresh();
    return id;
  }

  #audit(code: "x509.ca_created" | "x509.ca_retired", data: Record<string, unknown>): AuditDraft {
    return systemEvent(code, this.#o.clock.now(), COMPONENT, data);
  }
}
