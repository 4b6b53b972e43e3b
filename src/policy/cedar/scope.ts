// Policy scopes and the sound slice: which policies could apply to a request, judged from their scope alone.
// A policy is left out only when its scope cannot match; one with an unconstrained scope is always kept.
import type * as cedar from "@cedar-policy/cedar-wasm/nodejs";

type Uid = { readonly type: string; readonly id: string };

/** A scope constraint on principal or resource, in the forms Cedar allows. */
type EntityConstraint =
  | { readonly op: "all" }
  | { readonly op: "eq"; readonly uid: string }
  | { readonly op: "in"; readonly uid: string }
  | { readonly op: "is"; readonly type: string; readonly in: string | null };

export interface PolicyScope {
  readonly principal: EntityConstraint;
  /** null: any action; otherwise the actions named. */
  readonly actions: ReadonlySet<string> | null;
  readonly resource: EntityConstraint;
}

const key = (uid: Uid): string => `${uid.type}::${JSON.stringify(uid.id)}`;

function uidOf(json: cedar.EntityUidJson): Uid {
  return "__entity" in json ? json.__entity : json;
}

function entityConstraint(c: cedar.PrincipalConstraint | cedar.ResourceConstraint): EntityConstraint {
  switch (c.op) {
    case "All":
      return { op: "all" };
    case "==":
      if (!("entity" in c)) throw new Error("templates are not supported");
      return { op: "eq", uid: key(uidOf(c.entity)) };
    case "in":
      if (!("entity" in c)) throw new Error("templates are not supported");
      return { op: "in", uid: key(uidOf(c.entity)) };
    case "is": {
      const inside = c.in;
      if (inside !== undefined && !("entity" in inside)) throw new Error("templates are not supported");
      return { op: "is", type: c.entity_type, in: inside === undefined ? null : key(uidOf(inside.entity)) };
    }
  }
}

export function scopeOf(policy: cedar.PolicyJson): PolicyScope {
  const a = policy.action;
  let actions: Set<string> | null = null;
  if (a.op === "==") {
    if (!("entity" in a)) throw new Error("templates are not supported");
    actions = new Set([uidOf(a.entity).id]);
  } else if (a.op === "in") {
    actions = new Set(("entity" in a ? [a.entity] : a.entities).map((e) => uidOf(e).id));
  }
  return { principal: entityConstraint(policy.principal), actions, resource: entityConstraint(policy.resource) };
}

/** An entity of the request with every ancestor it has (itself included), as `Type::"id"` keys. */
export interface ScopeSubject {
  readonly type: string;
  readonly self: string;
  readonly ancestors: ReadonlySet<string>;
}

export function subject(type: string, id: string, parents: readonly Uid[]): ScopeSubject {
  const self = key({ type, id });
  return { type, self, ancestors: new Set([self, ...parents.map(key)]) };
}

function matches(c: EntityConstraint, s: ScopeSubject): boolean {
  switch (c.op) {
    case "all":
      return true;
    case "eq":
      return c.uid === s.self;
    case "in":
      return s.ancestors.has(c.uid);
    case "is":
      return c.type === s.type && (c.in === null || s.ancestors.has(c.in));
  }
}

/** True when the policy's scope can match this principal, action and resource (Cedar's scope semantics, exactly). */
export function scopeMatches(
  scope: PolicyScope,
  principal: ScopeSubject,
  action: string,
  resource: ScopeSubject,
): boolean {
  return (
    (scope.actions === null || scope.actions.has(action)) &&
    matches(scope.resource, resource) &&
    matches(scope.principal, principal)
  );
}
