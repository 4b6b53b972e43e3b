// Settings of the postgres and postgres-elevation targets and their entitlements, checked at start with errors that
// name the configuration path and never repeat a value.
import type { EntitlementSpec } from "../connector.js";
import {
  entitlementSettings,
  OBJECT_NAME_PATTERN,
  OBJECT_NAME_RULE,
  PREFIX_PATTERN,
  PREFIX_RULE,
  type SettingsReader,
  targetSettings,
} from "../support/settings.js";
import { DEFAULT_SCRAM_ITERATIONS } from "./scram.js";

/** Where and as whom the broker connects; the secret is kept apart (see AdminSecret). */
export interface PgEndpoint {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** The admin login: owner of reassigned objects, the account `rotateAdminSecret` changes, `broker: true`. */
  readonly user: string;
  readonly ssl: boolean;
}

export interface PgConnectionSettings {
  readonly endpoint: PgEndpoint;
  /** The configured admin password (may be empty for trust or peer authentication). */
  readonly password: string;
  readonly maxConnections: number;
  /** PBKDF2 iterations of the SCRAM verifiers the broker computes (issued roles, admin rotation). */
  readonly scramIterations: number;
}

export interface PostgresTargetSettings extends PgConnectionSettings {
  readonly prefix: string;
  /** Seconds added to the grant's expiry for `VALID UNTIL`, so PostgreSQL refuses logins soon after even without the broker. */
  readonly validUntilMargin: number;
}

export interface ElevationTargetSettings extends PgConnectionSettings {
  /** The identity attribute that names the identity's own PostgreSQL login. */
  readonly loginAttribute: string;
}

export interface PostgresEntitlementSettings {
  /** Group roles the issued login becomes a member of. */
  readonly roles: readonly string[];
  /** `CONNECTION LIMIT` of the issued login; null for PostgreSQL's default (no limit). */
  readonly connectionLimit: number | null;
}

export interface ElevationEntitlementSettings {
  /** The group role granted for the window. */
  readonly role: string;
}

const CONNECTION_KEYS = ["url", "password", "ssl", "maxConnections", "scramIterations"] as const;
const ATTRIBUTE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

function readConnection(reader: SettingsReader): PgConnectionSettings {
  const url = reader.url("url", ["postgres:", "postgresql:"]);
  if (url.password !== "") {
    reader.fail(
      "url",
      "must not contain a password (put it in the password setting, from { env: NAME } or { file: PATH })",
    );
  }
  if (url.search !== "" || url.hash !== "") reader.fail("url", "must not have query parameters (use the ssl setting)");
  const user = decodeURIComponent(url.username);
  if (!OBJECT_NAME_PATTERN.test(user)) reader.fail("url", `must name the admin user, which ${OBJECT_NAME_RULE}`);
  const database = url.pathname === "" || url.pathname === "/" ? "postgres" : decodeURIComponent(url.pathname.slice(1));
  if (!OBJECT_NAME_PATTERN.test(database)) reader.fail("url", `must name a database that ${OBJECT_NAME_RULE}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") reader.fail("url", "must name a host");
  return {
    endpoint: {
      host,
      port: url.port === "" ? 5432 : Number(url.port),
      database,
      user,
      ssl: reader.boolean("ssl", false),
    },
    password: reader.secret("password"),
    maxConnections: reader.integer("maxConnections", { min: 1, max: 32, fallback: 4 }),
    scramIterations: reader.integer("scramIterations", { min: 1, max: 1_000_000, fallback: DEFAULT_SCRAM_ITERATIONS }),
  };
}

export function parsePostgresTarget(
  targetId: string,
  settings: Readonly<Record<string, unknown>>,
): PostgresTargetSettings {
  const reader = targetSettings(targetId, settings);
  reader.only([...CONNECTION_KEYS, "prefix", "validUntilMargin"]);
  return {
    ...readConnection(reader),
    prefix: reader.string("prefix", { pattern: PREFIX_PATTERN, rule: PREFIX_RULE, fallback: "eph_" }),
    validUntilMargin: reader.integer("validUntilMargin", { min: 0, max: 86_400, fallback: 60 }),
  };
}

export function parseElevationTarget(
  targetId: string,
  settings: Readonly<Record<string, unknown>>,
): ElevationTargetSettings {
  const reader = targetSettings(targetId, settings);
  reader.only([...CONNECTION_KEYS, "loginAttribute"]);
  return {
    ...readConnection(reader),
    loginAttribute: reader.string("loginAttribute", {
      pattern: ATTRIBUTE_PATTERN,
      rule: "must be 1-64 characters of A-Z a-z 0-9 _ . : -",
      fallback: "postgres_role",
    }),
  };
}

export function parsePostgresEntitlement(entitlement: EntitlementSpec): PostgresEntitlementSettings {
  const reader = entitlementSettings(entitlement);
  reader.only(["roles", "connectionLimit"]);
  const roles = reader.list("roles", { pattern: OBJECT_NAME_PATTERN, rule: OBJECT_NAME_RULE });
  if (new Set(roles).size !== roles.length) reader.fail("roles", "must not name a role twice");
  const connectionLimit = reader.has("connectionLimit")
    ? reader.integer("connectionLimit", { min: 1, max: 10_000, fallback: 1 })
    : null;
  return { roles, connectionLimit };
}

export function parseElevationEntitlement(entitlement: EntitlementSpec): ElevationEntitlementSettings {
  const reader = entitlementSettings(entitlement);
  reader.only(["role"]);
  return { role: reader.string("role", { pattern: OBJECT_NAME_PATTERN, rule: OBJECT_NAME_RULE }) };
}
