// SPIFFE JWT-SVID authenticator: the subject's trust domain picks the bundle; the audience must name the broker.
import type { IdentityKind } from "../../domain/index.js";
import { JwtAuthenticator } from "../jwt/jwt-authenticator.js";
import type { KeyLookup, WorkloadJwtRules } from "../jwt/verify-workload-jwt.js";
import { type AuthenticatorDeps, keyLookupFor, MAX_LEEWAY_SECONDS } from "../oidc/oidc-authenticator.js";
import { type KeysSetting, readKeysSetting, type SettingsContext, SettingsReader } from "../settings.js";
import { parseTrustRules, type TrustRule } from "../trust-rules.js";
import { isTrustDomain, parseSpiffeId } from "./spiffe-id.js";

export interface SpiffeJwtSettings {
  readonly name: string;
  readonly audience: string;
  readonly trustDomains: ReadonlyMap<string, { readonly keys: KeysSetting; readonly allowInsecureLoopback: boolean }>;
  readonly algorithms: readonly string[];
  readonly leewaySeconds: number;
  readonly maxLifetimeSeconds: number;
  readonly maxTokenLength: number;
  readonly rules: readonly TrustRule[];
}

/** The algorithms the JWT-SVID specification allows. */
const SVID_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"];

const OPTIONS = [
  "type",
  "name",
  "audience",
  "trustDomains",
  "algorithms",
  "leeway",
  "maxLifetime",
  "maxTokenSize",
  "identityKind",
  "rules",
];

export function parseSpiffeJwtSettings(
  raw: Readonly<Record<string, unknown>>,
  ctx: SettingsContext,
): SpiffeJwtSettings {
  const r = new SettingsReader(raw, ctx, OPTIONS);
  const trustDomains = new Map<string, { keys: KeysSetting; allowInsecureLoopback: boolean }>();
  const domains = raw.trustDomains;
  if (typeof domains !== "object" || domains === null || Array.isArray(domains) || Object.keys(domains).length === 0) {
    r.problem(
      "trustDomains",
      "required: map each trust domain to its bundle, e.g. example.org: { bundle: { file: … } }",
    );
  } else {
    for (const [domain, spec] of Object.entries(domains)) {
      if (!isTrustDomain(domain)) r.problem(`trustDomains.${domain}`, "is not a trust domain name (a-z 0-9 . _ -)");
      const sub = new SettingsReader(
        (typeof spec === "object" && spec !== null ? spec : {}) as Record<string, unknown>,
        { ...ctx, at: `${ctx.at}.trustDomains.${domain}` },
        ["bundle", "allowInsecureLoopback"],
      );
      const allowInsecureLoopback = sub.boolean("allowInsecureLoopback", false);
      // A SPIFFE bundle marks JWT-SVID keys `use: jwt-svid` and holds X.509 roots (`x509-svid`) this ignores.
      const keys = readKeysSetting(sub, "bundle", allowInsecureLoopback, null, ["jwt-svid", "sig"], ["x509-svid"]);
      if (keys.kind === "discovery") sub.problem("bundle", "must be { file: PATH } or { url: https://… }");
      trustDomains.set(domain, { keys, allowInsecureLoopback });
    }
  }
  const kind = r.string("identityKind") ?? "workload";
  return {
    name: r.string("name") ?? "",
    audience: r.string("audience", true),
    trustDomains,
    algorithms: r.stringList("algorithms", ["RS256", "ES256"], SVID_ALGORITHMS),
    leewaySeconds: r.seconds("leeway", 30, MAX_LEEWAY_SECONDS),
    maxLifetimeSeconds: r.seconds("maxLifetime", 3600, 86_400),
    maxTokenLength: r.integer("maxTokenSize", 8192, 512, 65_536),
    rules: parseTrustRules(raw.rules, `${ctx.at}.rules`, ctx.identities, kind as IdentityKind, ctx.problems),
  };
}

export function createSpiffeJwtAuthenticator(settings: SpiffeJwtSettings, deps: AuthenticatorDeps): JwtAuthenticator {
  const lookups = new Map<string, KeyLookup>();
  for (const [domain, { keys, allowInsecureLoopback }] of settings.trustDomains) {
    lookups.set(domain, keyLookupFor(keys, `spiffe://${domain}`, allowInsecureLoopback, deps));
  }
  const rules: WorkloadJwtRules = {
    // JWT-SVIDs need no `iss`; the trust domain of `sub` selects the bundle, and only that bundle's keys verify.
    issuer: null,
    audience: settings.audience,
    algorithms: settings.algorithms,
    leewaySeconds: settings.leewaySeconds,
    maxLifetimeSeconds: settings.maxLifetimeSeconds,
    maxTokenLength: settings.maxTokenLength,
    types: ["JWT", "JOSE"],
    what: "the JWT-SVID",
  };
  const domainOf = (payload: Readonly<Record<string, unknown>>) => parseSpiffeId(payload.sub)?.trustDomain;
  return new JwtAuthenticator(
    {
      method: "spiffe_jwt",
      name: settings.name,
      routes: (payload) => {
        const domain = domainOf(payload);
        return domain !== undefined && lookups.has(domain);
      },
      checks: (payload) => {
        const keys = lookups.get(domainOf(payload) ?? "");
        return keys ? { rules, keys } : null;
      },
      derive: (payload) => {
        const id = parseSpiffeId(payload.sub);
        if (!id || !lookups.has(id.trustDomain)) return null;
        return { spiffe_id: id.id, trust_domain: id.trustDomain, spiffe_path: id.path };
      },
      trustRules: settings.rules,
    },
    deps.registry,
    deps.clock,
  );
}
