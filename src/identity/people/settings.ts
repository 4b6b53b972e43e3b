// `console.signIn.oidc`: the company's identity provider people sign in with, checked at load with the path of each problem.
import { Secret } from "../../support/index.js";
import { keyUrlProblem } from "../jwt/remote-jwks.js";
import { ASYMMETRIC_ALGORITHMS } from "../jwt/verify-workload-jwt.js";
import { type SettingsContext, SettingsReader } from "../settings.js";
import { GROUP_NAME } from "../trust-rules.js";
import type { ClaimNames } from "./claims-mapping.js";

export interface OidcSignInSettings {
  /** Shown on the sign-in page: "Sign in with <name>". Default: the issuer's host. */
  readonly name: string;
  readonly issuer: string;
  /** The console's client (authorization code + PKCE); ID tokens for the console must be for it. */
  readonly clientId: string;
  readonly clientSecret: Secret<string>;
  /** The public client a command line uses for the device grant; null turns `POST /v1/sessions/oidc` off. */
  readonly cliClientId: string | null;
  readonly scopes: readonly string[];
  readonly claims: ClaimNames;
  readonly groupMapping: ReadonlyMap<string, readonly string[]> | null;
  /** The callback registered at the provider, exactly: `<publicUrl>/v1/sessions/oidc/callback` by default. */
  readonly redirectUri: string;
  /** Where the provider sends the browser after sign-out: `<publicUrl>/ui/` by default. */
  readonly postLogoutRedirectUri: string;
  readonly algorithms: readonly string[];
  readonly leewaySeconds: number;
  readonly maxTokenLength: number;
  /** A command-line session lasts this long at most, and never past its ID token's expiry. */
  readonly cliSessionTtlSeconds: number;
}

const OPTIONS = [
  "name",
  "issuer",
  "clientId",
  "clientSecret",
  "cliClientId",
  "scopes",
  "claims",
  "groupMapping",
  "redirectUri",
  "postLogoutRedirectUri",
  "algorithms",
  "leeway",
  "maxTokenSize",
  "cliSessionTtl",
];

export const OIDC_CALLBACK_PATH = "/v1/sessions/oidc/callback";
const DEFAULT_CLAIMS: ClaimNames = { subject: "email", email: "email", groups: "groups" };

/** Parses `console.signIn.oidc`; `clientSecret` must already be resolved from its `{ env }` or `{ file }` reference. */
export function parseOidcSignInSettings(
  raw: Readonly<Record<string, unknown>>,
  ctx: SettingsContext,
  publicUrl: string,
): OidcSignInSettings {
  const r = new SettingsReader(raw, ctx, OPTIONS);
  const issuer = r.string("issuer", true);
  if (issuer) {
    const problem = keyUrlProblem(issuer, true);
    if (problem) r.problem("issuer", problem);
  }
  const clientSecret = r.value("clientSecret");
  if (typeof clientSecret !== "string" || clientSecret.length === 0) {
    r.problem("clientSecret", "must be { env: NAME } or { file: PATH } naming the console client's secret");
  }
  const urlAt = (key: string, fallback: string): string => {
    const value = r.string(key) ?? fallback;
    const problem = keyUrlProblem(value, true);
    if (problem) r.problem(key, problem);
    return value;
  };
  const scopes = r.stringList("scopes", ["openid", "email", "profile"]);
  if (!scopes.includes("openid")) r.problem("scopes", "must include openid");
  for (const [i, scope] of scopes.entries()) {
    if (!/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope)) r.problem(`scopes.${i}`, "is not a valid scope token");
  }
  return {
    name: r.string("name") ?? hostOf(issuer),
    issuer,
    clientId: r.string("clientId", true),
    clientSecret: new Secret(typeof clientSecret === "string" ? clientSecret : ""),
    cliClientId: r.string("cliClientId") ?? null,
    scopes,
    claims: claimNames(r),
    groupMapping: groupMapping(r),
    redirectUri: urlAt("redirectUri", `${publicUrl}${OIDC_CALLBACK_PATH}`),
    postLogoutRedirectUri: urlAt("postLogoutRedirectUri", `${publicUrl}/ui/`),
    algorithms: r.stringList("algorithms", ["RS256", "ES256", "PS256"], ASYMMETRIC_ALGORITHMS),
    leewaySeconds: r.seconds("leeway", 30, 60),
    maxTokenLength: r.integer("maxTokenSize", 16_384, 512, 65_536),
    cliSessionTtlSeconds: r.seconds("cliSessionTtl", 3600, 12 * 3600),
  };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "your identity provider";
  }
}

function claimNames(r: SettingsReader): ClaimNames {
  const raw = r.value("claims");
  if (raw === undefined) return DEFAULT_CLAIMS;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    r.problem("claims", "must map subject, email and groups to claim names");
    return DEFAULT_CLAIMS;
  }
  const out: Record<string, string> = { ...DEFAULT_CLAIMS };
  for (const [key, value] of Object.entries(raw)) {
    if (!(key in DEFAULT_CLAIMS)) r.problem(`claims.${key}`, "unknown option (subject, email or groups)");
    else if (typeof value !== "string" || !/^[A-Za-z0-9_:./-]{1,128}$/.test(value)) {
      r.problem(`claims.${key}`, "must be a claim name (a dotted path for a nested claim)");
    } else out[key] = value;
  }
  return out as unknown as ClaimNames;
}

function groupMapping(r: SettingsReader): ReadonlyMap<string, readonly string[]> | null {
  const raw = r.value("groupMapping");
  if (raw === undefined) return null;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw) || Object.keys(raw).length === 0) {
    r.problem("groupMapping", "must map the provider's group names to lists of the broker's groups");
    return null;
  }
  const out = new Map<string, readonly string[]>();
  for (const [from, to] of Object.entries(raw)) {
    const list = typeof to === "string" ? [to] : to;
    if (!Array.isArray(list) || list.length === 0 || !list.every((g) => typeof g === "string" && GROUP_NAME.test(g))) {
      r.problem(`groupMapping.${from}`, "must be a group name or a list of them (lower-case letters, digits, - and _)");
      continue;
    }
    out.set(from, list as string[]);
  }
  return out;
}
