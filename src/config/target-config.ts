// The `targets` section: each downstream system, its connector settings (secrets by reference) and its entitlements.
import type { EntitlementSpec, TargetSpec } from "../connectors/index.js";
import { DEFAULTS } from "./defaults.js";
import type { ConfigReader } from "./reader.js";
import type { RawConfig } from "./schema.js";

export interface TargetConfig extends TargetSpec {
  readonly entitlements: readonly EntitlementSpec[];
  /** How often the broker rotates this target's admin secret on its own; null when only `ephemera rotate` does. */
  readonly adminRotationSeconds: number | null;
}

/** Targets in file order; an entitlement's default duration must be positive and within its maximum. */
export function targetsConfig(raw: RawConfig["targets"], r: ConfigReader): TargetConfig[] {
  const targets: TargetConfig[] = [];
  for (const [targetId, spec] of Object.entries(raw ?? {})) {
    const { type, entitlements: rawEntitlements, adminRotation, ...rawSettings } = spec;
    const settings = r.secretRefs(rawSettings, `targets.${targetId}`);
    const entitlements: EntitlementSpec[] = [];
    for (const [name, ent] of Object.entries(rawEntitlements)) {
      const at = `targets.${targetId}.entitlements.${name}`;
      const { defaultDuration, maxDuration, risk, description: _description, ...entSettings } = ent;
      const def = r.seconds(defaultDuration, `${at}.defaultDuration`, 0);
      const max = r.seconds(maxDuration, `${at}.maxDuration`, 0);
      if (max <= 0) r.problems.push(`${at}.maxDuration: must be more than zero`);
      if (def <= 0) r.problems.push(`${at}.defaultDuration: must be more than zero`);
      if (def > max) r.problems.push(`${at}.defaultDuration: ${def}s is above maxDuration (${max}s)`);
      entitlements.push({
        name: `${targetId}/${name}`,
        targetId,
        defaultDurationSeconds: def,
        maxDurationSeconds: max,
        risk: risk ?? DEFAULTS.entitlement.risk,
        settings: entSettings,
      });
    }
    const rotation =
      adminRotation === undefined ? null : r.seconds(adminRotation, `targets.${targetId}.adminRotation`, 0);
    if (rotation !== null && rotation < 60) r.problems.push(`targets.${targetId}.adminRotation: must be at least 60s`);
    targets.push({ id: targetId, type, settings, entitlements, adminRotationSeconds: rotation });
  }
  return targets;
}
