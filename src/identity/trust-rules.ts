// Trust rules: verified claims → an identity and its attributes. Checked at load so no rule can match every token.
import { ADMIN_GROUP, type Identity, type IdentityKind, type IdentityRecord } from "../domain/index.js";
import { type AuthResult, inactiveIdentity } from "./authenticator.js";
import type { IdentityRegistry } from "./registry.js";

export type ClaimMatcher =
  | { readonly kind: "exact"; readonly values: readonly string[] }
  | { readonly kind: "glob"; readonly pattern: string; readonly regex: RegExp };

export interface TrustRule {
  readonly name: string;
  /** Every condition must hold; keys are flattened claim names (`repository`, `kubernetes.io.namespace`). */
  readonly match: ReadonlyMap<string, ClaimMatcher>;
  readonly identity: string;
  /** How to register the identity when the broker does not know it yet; null when the config file defines it. */
  readonly registration: {
    readonly kind: IdentityKind;
    readonly owner: string;
    readonly groups: readonly string[];
  } | null;
  /** Attributes this rule vouches for, added to the identity for the requests it admits (policy reads them). */
  readonly attributes: Readonly<Record<string, string>>;
}

export type FlatClaims = Readonly<Record<string, string | number | boolean>>;

/** Claims that say nothing about who the workload is: a rule conditioned on these alone would admit every token. */
const NON_IDENTIFYING = new Set(["iss", "aud", "exp", "nbf", "iat", "jti"]);
export const IDENTITY_ID = /^[a-z0-9][a-z0-9._@-]{0,127}$/;
export const GROUP_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const KINDS: readonly IdentityKind[] = ["service_account", "workload", "pipeline", "agent"];

/** Flattens nested claims with dots (`kubernetes.io` → `namespace` becomes `kubernetes.io.namespace`), 4 levels deep. */
export function flattenClaims(payload: Readonly<Record<string, unknown>>): FlatClaims {
  const out: Record<string, string | number | boolean> = {};
  const walk = (value: unknown, prefix: string, depth: number) => {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      if (prefix) out[prefix] = typeof value === "string" ? value.slice(0, 1024) : value;
      return;
    }
    if (Array.isArray(value)) {
      // `aud` is often a list; keep the string members joined so policy can read them, never match on them.
      if (prefix && value.every((v) => typeof v === "string")) out[prefix] = value.join(" ").slice(0, 1024);
      return;
    }
    if (typeof value === "object" && value !== null && depth < 4) {
      for (const [k, v] of Object.entries(value)) walk(v, prefix ? `${prefix}.${k}` : k, depth + 1);
    }
  };
  walk(payload, "", 0);
  return out;
}

function globRegex(pattern: string): RegExp {
  const body = pattern
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`, "s");
}

function matches(matcher: ClaimMatcher, value: string | number | boolean | undefined): boolean {
  if (value === undefined) return false;
  const text = String(value);
  return matcher.kind === "exact" ? matcher.values.includes(text) : matcher.regex.test(text);
}

/** The first rule whose every condition holds, or null. */
export function matchRule(rules: readonly TrustRule[], claims: FlatClaims): TrustRule | null {
  for (const rule of rules) {
    let all = true;
    for (const [claim, matcher] of rule.match) {
      if (!matches(matcher, claims[claim])) {
        all = false;
        break;
      }
    }
    if (all) return rule;
  }
  return null;
}

const scalar = (v: unknown): v is string | number | boolean =>
  typeof v === "string" || typeof v === "number" || typeof v === "boolean";

/**
 * Parses the `rules` of an authenticator. Problems are pushed as `path: what is wrong`. `identities` are the configured
 * identities: a rule naming one of them needs no owner; a rule naming another must say its kind's owner.
 */
export function parseTrustRules(
  raw: unknown,
  at: string,
  identities: ReadonlyMap<string, Identity>,
  defaultKind: IdentityKind,
  problems: string[],
): TrustRule[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push(`${at}: must be a non-empty list of trust rules (claims → identity)`);
    return [];
  }
  const rules: TrustRule[] = [];
  const names = new Set<string>();
  raw.forEach((entry: unknown, index) => {
    const here = `${at}.${index}`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      problems.push(`${here}: must be an object with match and identity`);
      return;
    }
    const r = entry as Record<string, unknown>;
    for (const key of Object.keys(r)) {
      if (!["name", "match", "identity", "kind", "owner", "groups", "attributes"].includes(key)) {
        problems.push(`${here}: unknown option '${key}'`);
      }
    }
    const name = typeof r.name === "string" && r.name.length > 0 ? r.name : `rule-${index}`;
    if (names.has(name)) problems.push(`${here}.name: '${name}' is used by another rule`);
    names.add(name);

    const match = new Map<string, ClaimMatcher>();
    if (typeof r.match !== "object" || r.match === null || Array.isArray(r.match)) {
      problems.push(`${here}.match: must map claim names to the values they must have`);
    } else {
      for (const [claim, spec] of Object.entries(r.match)) {
        const path = `${here}.match.${claim}`;
        if (scalar(spec)) {
          if (String(spec).length === 0) problems.push(`${path}: must not be empty`);
          match.set(claim, { kind: "exact", values: [String(spec)] });
        } else if (Array.isArray(spec) && spec.length > 0 && spec.every(scalar)) {
          match.set(claim, { kind: "exact", values: spec.map(String) });
        } else if (
          typeof spec === "object" &&
          spec !== null &&
          Object.keys(spec).length === 1 &&
          typeof (spec as { glob?: unknown }).glob === "string"
        ) {
          const pattern = (spec as { glob: string }).glob;
          if (pattern.replaceAll("*", "").length === 0) {
            problems.push(`${path}: the pattern '${pattern}' matches every value; name what the claim must be`);
          }
          match.set(claim, { kind: "glob", pattern, regex: globRegex(pattern) });
        } else {
          problems.push(`${path}: must be a value, a list of values, or { glob: "pattern*" }`);
        }
      }
      const identifying = [...match.entries()].filter(
        ([claim, m]) => !NON_IDENTIFYING.has(claim) && !(m.kind === "glob" && m.pattern.replaceAll("*", "") === ""),
      );
      if (identifying.length === 0) {
        problems.push(
          `${here}.match: would match every token of this issuer; add a condition on an identifying claim (sub, repository, ref…)`,
        );
      }
    }

    const identity = r.identity;
    if (typeof identity !== "string" || !IDENTITY_ID.test(identity)) {
      problems.push(`${here}.identity: must be an identity id (lower-case letters, digits, . _ @ -)`);
      return;
    }
    const configured = identities.get(identity);
    if (configured?.admin)
      problems.push(`${here}.identity: '${identity}' is an admin; a trust rule may not admit admins`);

    const attributes: Record<string, string> = {};
    if (r.attributes !== undefined) {
      if (typeof r.attributes !== "object" || r.attributes === null || Array.isArray(r.attributes)) {
        problems.push(`${here}.attributes: must map names to values`);
      } else {
        for (const [k, v] of Object.entries(r.attributes)) {
          if (!scalar(v)) problems.push(`${here}.attributes.${k}: must be a string`);
          else attributes[k] = String(v);
        }
      }
    }

    let registration: TrustRule["registration"] = null;
    if (!configured) {
      const kind = r.kind ?? defaultKind;
      if (typeof kind !== "string" || !KINDS.includes(kind as IdentityKind)) {
        problems.push(`${here}.kind: must be one of ${KINDS.join(", ")}`);
      }
      if (typeof r.owner !== "string" || r.owner.length === 0) {
        problems.push(
          `${here}.owner: required, since '${identity}' is not in identities (the rule registers it with this owner)`,
        );
      }
      const groups = r.groups ?? [];
      if (!Array.isArray(groups) || !groups.every((g) => typeof g === "string" && GROUP_NAME.test(g))) {
        problems.push(`${here}.groups: must be a list of group names`);
      } else if (groups.includes(ADMIN_GROUP)) {
        problems.push(`${here}.groups: a trust rule may not put an identity in '${ADMIN_GROUP}', the admin group`);
      }
      registration = {
        kind: kind as IdentityKind,
        owner: String(r.owner ?? ""),
        groups: Array.isArray(groups) ? groups.map(String) : [],
      };
    } else if (r.owner !== undefined || r.groups !== undefined || r.kind !== undefined) {
      problems.push(`${here}: '${identity}' is defined in identities; set its kind, owner and groups there`);
    }
    rules.push({ name, match, identity, registration, attributes });
  });
  return rules;
}

export type Admission =
  | { readonly ok: true; readonly identity: Identity; readonly rule: TrustRule; readonly version: number }
  | Extract<AuthResult, { ok: false }>;

/**
 * Maps verified claims to an identity through the rules. The identity is read from the registry on every call, so an
 * offboarded identity is refused at once; one first admitted by a rule is registered with the rule's owner.
 */
export async function admit(
  registry: IdentityRegistry,
  rules: readonly TrustRule[],
  claims: FlatClaims,
  authenticator: string,
): Promise<Admission> {
  const rule = matchRule(rules, claims);
  if (!rule) return { ok: false, reason: `the token is valid but no trust rule of '${authenticator}' admits it` };
  let record = await registry.get(rule.identity);
  if (!record) {
    if (!rule.registration) return { ok: false, reason: `identity '${rule.identity}' is no longer known` };
    record = await registry.register(
      {
        id: rule.identity,
        kind: rule.registration.kind,
        owner: rule.registration.owner,
        groups: rule.registration.groups,
        attributes: rule.attributes,
        admin: false,
      },
      `${authenticator}:${rule.name}`,
      { type: "system", id: `authenticator:${authenticator}` },
    );
  }
  if (record.status !== "active") return inactiveIdentity(record);
  // A token admitted through a rule never acts as an admin, whatever the identity's definition says.
  const identity = actingAs(record, { ...record.attributes, ...rule.attributes }, false);
  return { ok: true, identity, rule, version: record.version };
}

/** The identity a registered record acts as: its stored fields, with the attributes and admin right the caller allows. */
function actingAs(record: IdentityRecord, attributes: Identity["attributes"], admin: boolean): Identity {
  const { id, kind, owner, groups, status } = record;
  return { id, kind, owner, groups, attributes, status, admin };
}

/** What a sign-in provider's verified claims say about a person (see `people/claims-mapping.ts`). */
export interface VouchedPerson {
  readonly id: string;
  readonly groups: readonly string[];
}

/**
 * Admits a person a sign-in provider vouched for: registered on first sign-in as a human who owns themself, with the
 * groups the provider gives, kept in step on every sign-in. Read from the registry every time, like `admit`: an
 * offboarded or dormant person is refused. An identity the config file defines is taken as defined there; one of
 * another kind (a workload's id) is refused.
 */
export async function admitPerson(
  registry: IdentityRegistry,
  person: VouchedPerson,
  source: string,
): Promise<{ readonly ok: true; readonly identity: Identity } | Extract<AuthResult, { ok: false }>> {
  const record = await registry.syncPerson(
    { id: person.id, kind: "human", owner: person.id, groups: person.groups, attributes: {}, admin: false },
    source,
    { type: "system", id: source },
  );
  if (record.kind !== "human") {
    return {
      ok: false,
      reason: `'${person.id}' names a ${record.kind}, not a person; the provider may not sign in as it`,
    };
  }
  if (record.status !== "active") return inactiveIdentity(record);
  return { ok: true, identity: actingAs(record, record.attributes, record.admin) };
}
