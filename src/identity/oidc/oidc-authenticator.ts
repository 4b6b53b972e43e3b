// OIDC JWT authenticator: CI tokens (GitHub Actions, GitLab CI) and Kubernetes service-account tokens from one issuer.
import type { IdentityKind } from "../../domain/index.js";
import type { Clock, Logger } from "../../support/index.js";
import { JwtAuthenticator } from "../jwt/jwt-authenticator.js";
import { KeySet } from "../jwt/key-set.js";
import { keyUrlProblem, RemoteJwks } from "../jwt/remote-jwks.js";
import { ASYMMETRIC_ALGORITHMS, type KeyLookup, type WorkloadJwtRules } from "../jwt/verify-workload-jwt.js";
import type { IdentityRegistry } from "../registry.js";
import { type KeysSetting, readKeysSetting, type SettingsContext, SettingsReader } from "../settings.js";
import { parseTrustRules, type TrustRule } from "../trust-rules.js";

export interface OidcSettings {
  readonly name: string;
  readonly issuer: string;
  readonly audience: string;
  readonly keys: KeysSetting;
  readonly allowInsecureLoopback: boolean;
  readonly algorithms: readonly string[];
  readonly leewaySeconds: number;
  readonly maxLifetimeSeconds: number;
  readonly maxTokenLength: number;
  readonly types: readonly string[];
  readonly rules: readonly TrustRule[];
}

const OPTIONS = [
  "type",
  "name",
  "issuer",
  "audience",
  "jwks",
  "allowInsecureLoopback",
  "algorithms",
  "leeway",
  "maxLifetime",
  "maxTokenSize",
  "types",
  "identityKind",
  "rules",
];

export const MAX_LEEWAY_SECONDS = 60;

export function parseOidcSettings(raw: Readonly<Record<string, unknown>>, ctx: SettingsContext): OidcSettings {
  const r = new SettingsReader(raw, ctx, OPTIONS);
  const issuer = r.string("issuer", true);
  const allowInsecureLoopback = r.boolean("allowInsecureLoopback", false);
  if (issuer) {
    const problem = keyUrlProblem(issuer, allowInsecureLoopback);
    if (problem) r.problem("issuer", problem);
  }
  const kind = r.string("identityKind") ?? "pipeline";
  return {
    name: r.string("name") ?? "",
    issuer,
    audience: r.string("audience", true),
    keys: readKeysSetting(r, "jwks", allowInsecureLoopback, { kind: "discovery" }),
    allowInsecureLoopback,
    algorithms: r.stringList("algorithms", ["RS256"], ASYMMETRIC_ALGORITHMS),
    leewaySeconds: r.seconds("leeway", 30, MAX_LEEWAY_SECONDS),
    maxLifetimeSeconds: r.seconds("maxLifetime", 86_400, 7 * 86_400),
    maxTokenLength: r.integer("maxTokenSize", 8192, 512, 65_536),
    types: r.stringList("types", ["JWT"]),
    rules: parseTrustRules(raw.rules, `${ctx.at}.rules`, ctx.identities, kind as IdentityKind, ctx.problems),
  };
}

export interface AuthenticatorDeps {
  readonly registry: IdentityRegistry;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The key lookup for a keys setting: the configured set, or the issuer's published set fetched on first use. */
export function keyLookupFor(
  keys: KeysSetting,
  issuer: string,
  allowInsecureLoopback: boolean,
  deps: AuthenticatorDeps,
): KeyLookup {
  if (keys.kind === "static") return new KeySet(keys.keys);
  return new RemoteJwks({
    issuer,
    source: keys.kind === "discovery" ? { discovery: true } : { url: keys.url },
    allowInsecureLoopback,
    clock: deps.clock,
    logger: deps.logger,
  });
}

export function createOidcAuthenticator(settings: OidcSettings, deps: AuthenticatorDeps): JwtAuthenticator {
  const keys = keyLookupFor(settings.keys, settings.issuer, settings.allowInsecureLoopback, deps);
  const rules: WorkloadJwtRules = {
    issuer: settings.issuer,
    audience: settings.audience,
    algorithms: settings.algorithms,
    leewaySeconds: settings.leewaySeconds,
    maxLifetimeSeconds: settings.maxLifetimeSeconds,
    maxTokenLength: settings.maxTokenLength,
    types: settings.types,
    what: `the token of '${settings.name}'`,
  };
  return new JwtAuthenticator(
    {
      method: "oidc",
      name: settings.name,
      routes: (payload) => payload.iss === settings.issuer,
      checks: () => ({ rules, keys }),
      trustRules: settings.rules,
    },
    deps.registry,
    deps.clock,
  );
}
