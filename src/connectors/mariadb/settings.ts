// Settings of a MariaDB target and its entitlements, checked at start with errors that name the configuration path.
import type { EntitlementSpec } from "../connector.js";
import {
  entitlementSettings,
  OBJECT_NAME_PATTERN,
  OBJECT_NAME_RULE,
  PREFIX_PATTERN,
  PREFIX_RULE,
  targetSettings,
} from "../support/settings.js";
import { type GrantScope, privilegesFor } from "./privileges.js";

export interface MariadbTargetSettings {
  /** Where the broker (and the clients it hands credentials to) reach the server. */
  readonly host: string;
  readonly port: number;
  /** The admin login the broker uses. */
  readonly user: string;
  /** Default database of the admin connection, when the URL names one. */
  readonly database: string | undefined;
  /** The configured admin password (empty for a local server without one); wrapped in AdminSecret by the connector. */
  readonly password: string;
  readonly prefix: string;
  /** Host part of every account the broker makes (`'name'@'<accountHost>'`). */
  readonly accountHost: string;
  readonly poolSize: number;
  readonly connectTimeoutMs: number;
  readonly statementTimeoutMs: number;
}

/** What one entitlement grants: privileges on one database, one table, or (explicitly) the whole server. */
export interface MariadbGrantSpec {
  readonly scope: GrantScope;
  readonly database: string | undefined;
  readonly table: string | undefined;
  /** Upper-case MariaDB keywords from the allow-list of the scope (never GRANT OPTION). */
  readonly privileges: readonly string[];
}

const TARGET_KEYS = [
  "url",
  "password",
  "prefix",
  "accountHost",
  "poolSize",
  "connectTimeoutSeconds",
  "statementTimeoutSeconds",
] as const;

const ENTITLEMENT_KEYS = ["database", "table", "privileges", "scope"] as const;

/** A host pattern as MariaDB takes it: a name, an IP, a netmask, `%` and `_` wildcards. Always quoted as a literal. */
const ACCOUNT_HOST_PATTERN = /^[A-Za-z0-9.%_:/-]{1,60}$/;
const ACCOUNT_HOST_RULE =
  "must be 1-60 characters of A-Z a-z 0-9 . % _ : / - (a MariaDB host pattern such as % or 10.0.%)";

/** Schemas whose privileges amount to administering the server (mysql.*) or that MariaDB manages itself. */
const SYSTEM_SCHEMAS = new Set(["mysql", "information_schema", "performance_schema", "sys"]);

/** Keywords are ASCII words separated by single spaces; anything else is refused before it is compared. */
const KEYWORD_PATTERN = /^[A-Za-z][A-Za-z_ ]{0,39}$/;

export function parseTargetSettings(
  targetId: string,
  settings: Readonly<Record<string, unknown>>,
): MariadbTargetSettings {
  const reader = targetSettings(targetId, settings);
  reader.only(TARGET_KEYS);
  const url = reader.url("url", ["mysql:", "mariadb:"]);
  if (url.username === "") reader.fail("url", "must name the admin user (mysql://user@host:3306)");
  if (url.password !== "")
    reader.fail("url", "must not carry a password: put it in `password` ({ env: NAME } or { file: PATH })");
  if (url.search !== "" || url.hash !== "") reader.fail("url", "must not have query options or a fragment");
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") reader.fail("url", "must name the server host");
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (database !== "" && !OBJECT_NAME_PATTERN.test(database)) reader.fail("url", `database ${OBJECT_NAME_RULE}`);
  return {
    host,
    port: url.port === "" ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    database: database === "" ? undefined : database,
    password: reader.secret("password"),
    prefix: reader.string("prefix", { pattern: PREFIX_PATTERN, rule: PREFIX_RULE, fallback: "eph_" }),
    accountHost: reader.string("accountHost", {
      pattern: ACCOUNT_HOST_PATTERN,
      rule: ACCOUNT_HOST_RULE,
      fallback: "%",
    }),
    poolSize: reader.integer("poolSize", { min: 1, max: 16, fallback: 4 }),
    connectTimeoutMs: reader.integer("connectTimeoutSeconds", { min: 1, max: 60, fallback: 5 }) * 1000,
    statementTimeoutMs: reader.integer("statementTimeoutSeconds", { min: 1, max: 120, fallback: 10 }) * 1000,
  };
}

/** Validates an entitlement's settings; messages name the path and the rule, never the value. */
export function parseGrantSpec(entitlement: EntitlementSpec): MariadbGrantSpec {
  const reader = entitlementSettings(entitlement);
  reader.only(ENTITLEMENT_KEYS);
  let scope: GrantScope;
  if (reader.has("scope")) {
    const raw = entitlement.settings.scope;
    if (raw !== "database" && raw !== "table" && raw !== "global")
      reader.fail("scope", "must be database, table or global");
    scope = raw as GrantScope;
  } else {
    scope = reader.has("table") ? "table" : "database";
  }

  const name = (key: "database" | "table"): string => {
    const value = reader.string(key, { pattern: OBJECT_NAME_PATTERN, rule: OBJECT_NAME_RULE });
    if (key === "database" && SYSTEM_SCHEMAS.has(value.toLowerCase())) {
      reader.fail(key, "must not be a system schema (mysql, information_schema, performance_schema, sys)");
    }
    return value;
  };
  let database: string | undefined;
  let table: string | undefined;
  if (scope === "global") {
    // Server-wide privileges reach the mysql schema too, so they are never implied: only `scope: global` asks for them.
    if (reader.has("database")) reader.fail("database", "must be absent when scope is global");
    if (reader.has("table")) reader.fail("table", "must be absent when scope is global");
  } else {
    database = name("database");
    if (scope === "table") table = name("table");
    else if (reader.has("table")) reader.fail("table", "must be absent when scope is database");
  }

  const allowed = privilegesFor(scope);
  const rule = `must be one of ${allowed.join(", ")} (scope ${scope})`;
  const given = reader.list("privileges", { pattern: KEYWORD_PATTERN, rule });
  const privileges: string[] = [];
  given.forEach((item, index) => {
    const keyword = item.trim().replace(/\s+/g, " ").toUpperCase();
    const normalized = keyword === "ALL" ? "ALL PRIVILEGES" : keyword;
    if (!allowed.includes(normalized)) reader.fail(`privileges[${index}]`, rule);
    if (privileges.includes(normalized)) reader.fail(`privileges[${index}]`, "is listed twice");
    privileges.push(normalized);
  });
  if (privileges.includes("ALL PRIVILEGES") && privileges.length > 1) {
    reader.fail("privileges", "ALL PRIVILEGES must be the only entry");
  }
  return { scope, database, table, privileges };
}
