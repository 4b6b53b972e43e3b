// mTLS authenticator: an X.509-SVID (or any client certificate with a SPIFFE URI SAN) verified in the TLS handshake.
import type { X509Certificate } from "node:crypto";
import type { IdentityKind } from "../../domain/index.js";
import type { Clock } from "../../support/index.js";
import type { Authenticator, AuthResult, Presented } from "../authenticator.js";
import type { AuthenticatorDeps } from "../oidc/oidc-authenticator.js";
import type { IdentityRegistry } from "../registry.js";
import type { SettingsContext } from "../settings.js";
import { SettingsReader } from "../settings.js";
import { isTrustDomain, parseSpiffeId, type SpiffeId } from "../spiffe/spiffe-id.js";
import { admit, parseTrustRules, type TrustRule } from "../trust-rules.js";

export interface MtlsSettings {
  readonly name: string;
  /** SPIFFE trust domains whose IDs this authenticator accepts (the chain itself is checked against server.tls.clientCa). */
  readonly trustDomains: readonly string[];
  readonly rules: readonly TrustRule[];
}

export function parseMtlsSettings(raw: Readonly<Record<string, unknown>>, ctx: SettingsContext): MtlsSettings {
  const r = new SettingsReader(raw, ctx, ["type", "name", "trustDomains", "identityKind", "rules"]);
  const trustDomains = r.stringList("trustDomains", []);
  if (trustDomains.length === 0) r.problem("trustDomains", "required: the SPIFFE trust domains accepted");
  for (const [i, d] of trustDomains.entries()) {
    if (!isTrustDomain(d)) r.problem(`trustDomains.${i}`, "is not a trust domain name (a-z 0-9 . _ -)");
  }
  const kind = r.string("identityKind") ?? "workload";
  return {
    name: r.string("name") ?? "",
    trustDomains,
    rules: parseTrustRules(raw.rules, `${ctx.at}.rules`, ctx.identities, kind as IdentityKind, ctx.problems),
  };
}

/** The one SPIFFE ID in a certificate's URI SANs; an X.509-SVID has exactly one URI SAN. */
export function spiffeIdOf(certificate: X509Certificate): SpiffeId | null {
  const san = certificate.subjectAltName ?? "";
  const uris = san
    .split(/,\s*/)
    .filter((entry) => entry.startsWith("URI:"))
    .map((entry) => entry.slice(4));
  if (uris.length !== 1) return null;
  return parseSpiffeId(uris[0]);
}

export class MtlsAuthenticator implements Authenticator {
  readonly type = "mtls";

  constructor(
    private readonly settings: MtlsSettings,
    private readonly registry: IdentityRegistry,
    private readonly clock: Clock,
  ) {}

  get name(): string {
    return this.settings.name;
  }

  /** Takes connections that sent a client certificate and no bearer credential (a bearer decides when both are sent). */
  accepts(presented: Presented): boolean {
    return presented.peerCertificate !== undefined && !presented.authorization;
  }

  async authenticate(presented: Presented): Promise<AuthResult> {
    const peer = presented.peerCertificate;
    if (!peer) return { ok: false, reason: "no client certificate" };
    if (!peer.authorized) {
      return {
        ok: false,
        reason: `the client certificate does not chain to the configured client CA (${peer.authorizationError ?? "unverified"})`,
      };
    }
    const cert = peer.certificate;
    if (cert.ca) return { ok: false, reason: "the client certificate is a CA certificate" };
    const now = this.clock.now();
    if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) {
      return { ok: false, reason: "the client certificate is not valid now" };
    }
    const id = spiffeIdOf(cert);
    if (!id) return { ok: false, reason: "the client certificate carries no single SPIFFE ID URI SAN" };
    if (!this.settings.trustDomains.includes(id.trustDomain)) {
      return { ok: false, reason: `trust domain '${id.trustDomain}' is not accepted by '${this.settings.name}'` };
    }
    const claims = {
      spiffe_id: id.id,
      trust_domain: id.trustDomain,
      spiffe_path: id.path,
      serial: cert.serialNumber,
      sub: id.id,
    };
    const admission = await admit(this.registry, this.settings.rules, claims, this.settings.name);
    if (!admission.ok) return admission;
    return {
      ok: true,
      identity: admission.identity,
      identityVersion: admission.version,
      method: this.type,
      credentialId: `serial:${cert.serialNumber}`,
      claims: { ...claims, authenticator: this.settings.name, rule: admission.rule.name },
      // A certificate is proven afresh by every handshake (its key never travels): nothing to replay.
      singleUse: null,
    };
  }
}

export function createMtlsAuthenticator(settings: MtlsSettings, deps: AuthenticatorDeps): MtlsAuthenticator {
  return new MtlsAuthenticator(settings, deps.registry, deps.clock);
}
