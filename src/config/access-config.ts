// The `access` allow-list and the `policies` folder: who may ask for what, by simple rules or by Cedar (not both).
import type { AccessRule } from "../policy/index.js";
import { DEFAULTS } from "./defaults.js";
import type { ConfiguredIdentity } from "./identity-config.js";
import type { ConfigReader } from "./reader.js";
import type { RawConfig } from "./schema.js";
import type { TargetConfig } from "./target-config.js";

export interface PoliciesConfig {
  readonly dir: string;
  readonly watch: boolean;
  /** What happens to active grants a new policy set no longer permits. */
  readonly onChange: "revoke" | "expire";
}

/** Allow-list rules; each must name configured entitlements and identities, and someone to match. */
export function accessRules(
  raw: RawConfig["access"],
  targets: readonly TargetConfig[],
  identities: ReadonlyMap<string, ConfiguredIdentity>,
  r: ConfigReader,
): AccessRule[] {
  const known = new Set(targets.flatMap((t) => t.entitlements.map((e) => e.name)));
  return (raw ?? []).map((rule, index) => {
    for (const ent of rule.entitlements) {
      const [target, name] = ent.split("/");
      const exists = name === "*" ? targets.some((t) => t.id === target) : known.has(ent);
      if (!exists) r.problems.push(`access.${index}.entitlements: '${ent}' names no configured entitlement`);
    }
    for (const id of rule.identities ?? []) {
      if (!identities.has(id)) r.problems.push(`access.${index}.identities: '${id}' is not a configured identity`);
    }
    if (!rule.identities?.length && !rule.groups?.length) {
      r.problems.push(`access.${index}: names neither identities nor groups, so it would match no one`);
    }
    return {
      index,
      identities: rule.identities ?? [],
      groups: rule.groups ?? [],
      entitlements: rule.entitlements,
      maxDurationSeconds:
        rule.maxDuration === undefined ? null : r.seconds(rule.maxDuration, `access.${index}.maxDuration`, 0),
    };
  });
}

/** The Cedar policy folder (a path, or `{dir, watch, onChange}`); null when the allow-list decides. */
export function policiesConfig(doc: RawConfig, r: ConfigReader): PoliciesConfig | null {
  if (doc.policies === undefined) return null;
  const spec = typeof doc.policies === "string" ? { dir: doc.policies } : doc.policies;
  if (doc.access !== undefined) {
    r.problems.push("access: not with `policies` (the allow-list is the simple alternative to Cedar policies)");
  }
  return {
    dir: r.path(spec.dir),
    watch: spec.watch ?? DEFAULTS.policies.watch,
    onChange: spec.onChange ?? DEFAULTS.policies.onChange,
  };
}
