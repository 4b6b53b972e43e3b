// The catalogue of authenticator types, by name. Adding a way to authenticate means adding one entry here.
import type { Authenticator } from "./authenticator.js";
import { createMtlsAuthenticator, parseMtlsSettings } from "./mtls/mtls-authenticator.js";
import { type AuthenticatorDeps, createOidcAuthenticator, parseOidcSettings } from "./oidc/oidc-authenticator.js";
import type { SettingsContext } from "./settings.js";
import { createSpiffeJwtAuthenticator, parseSpiffeJwtSettings } from "./spiffe/jwt-svid-authenticator.js";

export type { AuthenticatorDeps } from "./oidc/oidc-authenticator.js";

interface AuthenticatorType<S extends { readonly name: string }> {
  /** Checks the settings at load; problems go to `ctx.problems` as `path: what is wrong`. */
  parse(raw: Readonly<Record<string, unknown>>, ctx: SettingsContext): S;
  create(settings: S, deps: AuthenticatorDeps): Authenticator;
}

function type<S extends { readonly name: string }>(t: AuthenticatorType<S>): AuthenticatorType<S> {
  return t;
}

export const AUTHENTICATOR_TYPES = {
  oidc: type({ parse: parseOidcSettings, create: createOidcAuthenticator }),
  "spiffe-jwt": type({ parse: parseSpiffeJwtSettings, create: createSpiffeJwtAuthenticator }),
  mtls: type({ parse: parseMtlsSettings, create: createMtlsAuthenticator }),
} as const;

export type AuthenticatorTypeName = keyof typeof AUTHENTICATOR_TYPES;

/** One configured authenticator, its settings checked. */
export interface AuthenticatorConfig {
  readonly type: AuthenticatorTypeName;
  readonly name: string;
  readonly settings: { readonly name: string };
}

function isTypeName(name: unknown): name is AuthenticatorTypeName {
  return typeof name === "string" && Object.hasOwn(AUTHENTICATOR_TYPES, name);
}

/** Parses the `authenticators` list; every problem is pushed with its path, as the rest of the config loader does. */
export function parseAuthenticators(raw: unknown, ctx: Omit<SettingsContext, "at">): AuthenticatorConfig[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    ctx.problems.push("authenticators: must be a list");
    return [];
  }
  const out: AuthenticatorConfig[] = [];
  const names = new Set<string>();
  raw.forEach((entry: unknown, index) => {
    const at = `authenticators.${index}`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      ctx.problems.push(`${at}: must be an object with a type`);
      return;
    }
    const spec = entry as Record<string, unknown>;
    if (!isTypeName(spec.type)) {
      ctx.problems.push(
        `${at}.type: must be one of ${Object.keys(AUTHENTICATOR_TYPES).join(", ")} (API keys need no entry)`,
      );
      return;
    }
    const settings = AUTHENTICATOR_TYPES[spec.type].parse(spec, { ...ctx, at });
    const name = settings.name || `${spec.type}-${index}`;
    if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(name)) ctx.problems.push(`${at}.name: lower-case letters, digits, - and _`);
    if (names.has(name)) ctx.problems.push(`${at}.name: '${name}' names another authenticator too`);
    names.add(name);
    out.push({ type: spec.type, name, settings: { ...settings, name } });
  });
  return out;
}

export function createAuthenticator(config: AuthenticatorConfig, deps: AuthenticatorDeps): Authenticator {
  const entry = AUTHENTICATOR_TYPES[config.type] as AuthenticatorType<{ readonly name: string }>;
  return entry.create(config.settings, deps);
}
