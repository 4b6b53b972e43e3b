// Settings of a token target and its entitlements, checked at start with errors that name the configuration path.
import type { EntitlementSpec } from "../connector.js";
import { entitlementPath } from "../support/settings.js";

export { entitlementPath };

export interface TokenTargetSettings {
  /** The `aud` of every token for this target: the internal API that accepts them. */
  readonly audience: string;
}

export interface TokenEntitlementSettings {
  /** OAuth scopes put in the token's `scope` claim, space-joined. */
  readonly scopes: readonly string[];
}

/** A scope is one token of the space-separated `scope` claim: no spaces, no quotes, bounded. */
const SCOPE_PATTERN = /^[A-Za-z0-9._:/-]{1,128}$/;

export function parseTargetSettings(
  targetId: string,
  settings: Readonly<Record<string, unknown>>,
): TokenTargetSettings {
  const audience = settings.audience;
  if (typeof audience !== "string" || audience.trim().length === 0) {
    throw new Error(`targets.${targetId}.audience: must be a non-empty string`);
  }
  return { audience };
}

/** Validates scopes. Messages name the path and the rule, never echo the value: a misplaced secret must not reach a log. */
export function parseEntitlementSettings(entitlement: EntitlementSpec): TokenEntitlementSettings {
  const path = `${entitlementPath(entitlement)}.scopes`;
  const scopes: unknown = entitlement.settings.scopes;
  if (!Array.isArray(scopes) || scopes.length === 0) {
    throw new Error(`${path}: must be a non-empty list of scopes`);
  }
  const checked: string[] = [];
  for (const [index, scope] of scopes.entries()) {
    if (typeof scope !== "string" || !SCOPE_PATTERN.test(scope)) {
      throw new Error(`${path}[${index}]: must be 1-128 characters of A-Z a-z 0-9 . _ : / -`);
    }
    checked.push(scope);
  }
  return { scopes: checked };
}
