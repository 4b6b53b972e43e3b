// Verified ID-token claims → the person they name: an identity id, an email and groups. Only the signed payload is read:
// nothing from a query string, a userinfo answer or any other unsigned source can add a group.
import type { JWTPayload } from "jose";
import { GROUP_NAME, IDENTITY_ID } from "../trust-rules.js";

export interface ClaimNames {
  /** The claim whose value becomes the identity id (lower-cased): `email`, `preferred_username`, `oid`, `sub`. */
  readonly subject: string;
  readonly email: string;
  /** Where the groups are: a list of strings (`groups`, `roles`, `realm_access.roles`). */
  readonly groups: string;
}

export interface ClaimsMapping {
  readonly claims: ClaimNames;
  /** The provider's group → the broker's groups. When set, only mapped groups count; when null, names pass as they are. */
  readonly groupMapping: ReadonlyMap<string, readonly string[]> | null;
}

export interface Person {
  readonly id: string;
  readonly email: string | null;
  readonly groups: readonly string[];
  /** Provider groups left out: unmapped, or not a valid group name. Counted in the audit event, never named. */
  readonly droppedGroups: number;
}

/** A claim by dotted path (`realm_access.roles`): a top-level name with dots is tried first, then the nested path. */
export function claimAt(payload: Readonly<Record<string, unknown>>, path: string): unknown {
  if (Object.hasOwn(payload, path)) return payload[path];
  let value: unknown = payload;
  for (const part of path.split(".")) {
    if (typeof value !== "object" || value === null || Array.isArray(value) || !Object.hasOwn(value, part)) {
      return undefined;
    }
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

export type PersonResult =
  | { readonly ok: true; readonly person: Person }
  | { readonly ok: false; readonly reason: string };

export function personFromClaims(payload: JWTPayload, mapping: ClaimsMapping): PersonResult {
  const { claims } = mapping;
  const subject = claimAt(payload, claims.subject);
  if (typeof subject !== "string" || subject.length === 0) {
    return { ok: false, reason: `the ID token has no '${claims.subject}' claim to name the person by` };
  }
  const id = subject.toLowerCase();
  if (!IDENTITY_ID.test(id)) {
    return {
      ok: false,
      reason: `the ID token's '${claims.subject}' claim is not usable as an identity id (lower-case letters, digits, . _ @ -, at most 128)`,
    };
  }
  // An address the provider says it has not verified does not name anyone.
  const subjectIsEmail = claims.subject === claims.email;
  if (subjectIsEmail && payload.email_verified === false) {
    return { ok: false, reason: "the ID token's email address is not verified by the provider" };
  }
  const email = claimAt(payload, claims.email);
  const rawGroups = claimAt(payload, claims.groups);
  let given: string[] = [];
  if (rawGroups !== undefined) {
    if (!Array.isArray(rawGroups) || !rawGroups.every((g) => typeof g === "string")) {
      return { ok: false, reason: `the ID token's '${claims.groups}' claim is not a list of strings` };
    }
    given = rawGroups as string[];
  }
  const groups = new Set<string>();
  let dropped = 0;
  for (const group of given.slice(0, 1000)) {
    if (mapping.groupMapping) {
      const mapped = mapping.groupMapping.get(group);
      if (mapped) for (const g of mapped) groups.add(g);
      else dropped++;
    } else if (GROUP_NAME.test(group)) {
      groups.add(group);
    } else {
      dropped++;
    }
  }
  return {
    ok: true,
    person: {
      id,
      email: typeof email === "string" && email.length <= 320 ? email : null,
      groups: [...groups].sort(),
      droppedGroups: dropped + Math.max(0, given.length - 1000),
    },
  };
}
