// The `identities`, `identityLifecycle` and `bootstrap` sections: who is known, when the unseen go dormant, first-start keys.
import { ADMIN_GROUP, type Identity } from "../domain/index.js";
import { DEFAULTS } from "./defaults.js";
import type { ConfigReader } from "./reader.js";
import type { RawConfig } from "./schema.js";

export interface ConfiguredIdentity extends Identity {
  readonly apiKeys: readonly { readonly id: string; readonly hash: string }[];
  /** Written with the deprecated `admin: true`, which now means membership of the admin group; the start warns. */
  readonly adminFlag: boolean;
}

export interface IdentityLifecycleConfig {
  readonly dormantAfterMs: number | null;
  readonly checkIntervalMs: number;
}

export interface BootstrapConfig {
  readonly envFile: string;
  readonly identity: string;
  readonly admin: string | null;
  readonly approver: string | null;
}

/**
 * The identities of the file by id; every non-human one must name an owner. `admin: true` (deprecated) puts the
 * identity in the admin group, whose members policy lets administer; `admin` on the result says it is in that group.
 */
export function identitiesConfig(raw: RawConfig["identities"], r: ConfigReader): Map<string, ConfiguredIdentity> {
  const identities = new Map<string, ConfiguredIdentity>();
  for (const [id, spec] of Object.entries(raw ?? {})) {
    if (spec.kind !== "human" && !spec.owner) {
      r.problems.push(`identities.${id}.owner: required for a ${spec.kind} (every non-human identity has an owner)`);
    }
    const listed = spec.groups ?? [];
    const adminFlag = spec.admin === true;
    const groups = adminFlag && !listed.includes(ADMIN_GROUP) ? [...listed, ADMIN_GROUP] : listed;
    identities.set(id, {
      id,
      kind: spec.kind as Identity["kind"],
      owner: spec.owner ?? null,
      groups,
      attributes: spec.attributes ?? {},
      status: "active",
      admin: groups.includes(ADMIN_GROUP),
      apiKeys: spec.apiKeys ?? [],
      adminFlag,
    });
  }
  return identities;
}

/** Dormancy: off unless `dormantAfter` is set, and then at least an hour (identities are seen at most once a minute). */
export function identityLifecycleConfig(raw: RawConfig["identityLifecycle"], r: ConfigReader): IdentityLifecycleConfig {
  const il = raw ?? {};
  const dormantAfterSeconds =
    il.dormantAfter === undefined ? null : r.seconds(il.dormantAfter, "identityLifecycle.dormantAfter", 0);
  if (dormantAfterSeconds !== null && dormantAfterSeconds < 3600) {
    r.problems.push("identityLifecycle.dormantAfter: must be at least 1h (identities are seen at most once a minute)");
  }
  const config = {
    dormantAfterMs: dormantAfterSeconds === null ? null : dormantAfterSeconds * 1000,
    checkIntervalMs:
      r.seconds(il.checkInterval, "identityLifecycle.checkInterval", DEFAULTS.identityLifecycle.checkInterval) * 1000,
  };
  if (config.checkIntervalMs <= 0) r.problems.push("identityLifecycle.checkInterval: must be more than zero");
  return config;
}

/** The identities whose API keys a first start writes to `envFile`; each must be configured. */
export function bootstrapConfig(
  raw: RawConfig["bootstrap"],
  identities: ReadonlyMap<string, ConfiguredIdentity>,
  r: ConfigReader,
): BootstrapConfig | null {
  if (!raw) return null;
  const { envFile, identity, admin, approver } = raw;
  if (approver !== undefined && !identities.has(approver)) {
    r.problems.push(`bootstrap.approver: '${approver}' is not a configured identity`);
  }
  if (!identities.has(identity)) r.problems.push(`bootstrap.identity: '${identity}' is not a configured identity`);
  if (admin !== undefined && !identities.get(admin)?.admin) {
    r.problems.push(`bootstrap.admin: '${admin}' is not a configured identity in group '${ADMIN_GROUP}'`);
  }
  return { envFile: r.path(envFile), identity, admin: admin ?? null, approver: approver ?? null };
}
