// Settings of an x509 target and its entitlements, checked at start with errors that name the configuration path.
import { isTrustDomain } from "../../identity/index.js";
import type { EntitlementSpec } from "../connector.js";
import { entitlementPath, SettingsReader } from "../support/settings.js";

export type KeyAlgorithm = "p256" | "ed25519";

export interface X509TargetSettings {
  /** SPIFFE trust domain of issued certificates (`spiffe://<trustDomain>/…`). */
  readonly trustDomain: string;
  readonly keyAlgorithm: KeyAlgorithm;
  /** Validity of each CA certificate; the CA is replaced before less than two certificate lifetimes remain. */
  readonly caValiditySeconds: number;
  /** No certificate lives longer; a retired CA stays published this long after its retirement. */
  readonly maxCertificateSeconds: number;
}

export interface X509EntitlementSettings {
  /** SPIFFE path template: `{identity}` and `{entitlement}` are replaced. */
  readonly spiffePath: string;
}

const PATH_TEMPLATE = /^(\/([A-Za-z0-9._-]|\{identity\}|\{entitlement\})+)+$/;

export function parseX509TargetSettings(
  targetId: string,
  settings: Readonly<Record<string, unknown>>,
): X509TargetSettings {
  const r = new SettingsReader(settings, `targets.${targetId}`);
  r.only(["trustDomain", "keyAlgorithm", "caValidity", "maxCertificateLifetime"]);
  const trustDomain = r.string("trustDomain");
  if (!isTrustDomain(trustDomain)) r.fail("trustDomain", "must be a SPIFFE trust domain (a-z 0-9 . _ -)");
  const keyAlgorithm = r.string("keyAlgorithm", { fallback: "p256" });
  if (keyAlgorithm !== "p256" && keyAlgorithm !== "ed25519") return r.fail("keyAlgorithm", "must be p256 or ed25519");
  const maxCertificateSeconds = r.duration("maxCertificateLifetime", 86_400);
  const caValiditySeconds = r.duration("caValidity", 365 * 86_400);
  if (caValiditySeconds < 4 * maxCertificateSeconds) {
    r.fail("caValidity", "must be at least four times maxCertificateLifetime (the CA is replaced with room to spare)");
  }
  return { trustDomain, keyAlgorithm, caValiditySeconds, maxCertificateSeconds };
}

export function parseX509EntitlementSettings(entitlement: EntitlementSpec): X509EntitlementSettings {
  const r = new SettingsReader(entitlement.settings, entitlementPath(entitlement));
  r.only(["spiffePath"]);
  const spiffePath = r.string("spiffePath", {
    fallback: "/{identity}",
    pattern: PATH_TEMPLATE,
    rule: "must be a path like /ci/{identity} (segments of A-Z a-z 0-9 . _ - and {identity} or {entitlement})",
  });
  if (spiffePath.split("/").some((segment) => segment === "." || segment === "..")) {
    r.fail("spiffePath", "must not hold . or .. segments");
  }
  return { spiffePath };
}
