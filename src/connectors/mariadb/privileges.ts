// The privileges an entitlement may hand out, per scope, and the GRANT statement that hands them out.
import { escapeId } from "mysql2/promise";

export type GrantScope = "database" | "table" | "global";

/** Database-level privileges (`GRANT … ON db.*`). ALL PRIVILEGES there excludes GRANT OPTION. */
const DATABASE_PRIVILEGES = [
  "SELECT",
  "INSERT",
  "UPDATE",
  "DELETE",
  "CREATE",
  "DROP",
  "INDEX",
  "ALTER",
  "REFERENCES",
  "CREATE TEMPORARY TABLES",
  "LOCK TABLES",
  "EXECUTE",
  "CREATE VIEW",
  "SHOW VIEW",
  "CREATE ROUTINE",
  "ALTER ROUTINE",
  "EVENT",
  "TRIGGER",
  "DELETE HISTORY",
  "ALL PRIVILEGES",
] as const;

/** Table-level privileges (`GRANT … ON db.table`). */
const TABLE_PRIVILEGES = [
  "SELECT",
  "INSERT",
  "UPDATE",
  "DELETE",
  "CREATE",
  "DROP",
  "INDEX",
  "ALTER",
  "REFERENCES",
  "CREATE VIEW",
  "SHOW VIEW",
  "TRIGGER",
  "DELETE HISTORY",
  "ALL PRIVILEGES",
] as const;

/**
 * Server-wide privileges, only with `scope: global`: monitoring rights. Never ALL, SUPER, CREATE USER, FILE,
 * SHUTDOWN, RELOAD, GRANT OPTION or any write privilege on `*.*` — a write on `*.*` includes the mysql schema, which is
 * the account catalogue. Not SELECT on `*.*` either (it reads every account's password hash in `mysql.global_priv`),
 * nor PROCESS (the process list shows other sessions' statements, including the hashes the broker sets).
 */
const GLOBAL_PRIVILEGES = ["SHOW DATABASES", "SHOW VIEW", "BINLOG MONITOR", "SLAVE MONITOR"] as const;

export function privilegesFor(scope: GrantScope): readonly string[] {
  if (scope === "global") return GLOBAL_PRIVILEGES;
  return scope === "table" ? TABLE_PRIVILEGES : DATABASE_PRIVILEGES;
}

/**
 * The object of a GRANT. In a database-level grant MariaDB reads `_` and `%` in the name as wildcards (measured:
 * `GRANT … ON app_db.*` also opens `appXdb`), so they are escaped; a table-level grant takes the database name literally.
 */
export function grantObject(spec: {
  readonly scope: GrantScope;
  readonly database: string | undefined;
  readonly table: string | undefined;
}): string {
  if (spec.scope === "global") return "*.*";
  if (spec.database === undefined) throw new Error("a database-level grant needs a database");
  if (spec.scope === "database") return `${escapeId(spec.database.replace(/([_%\\])/g, "\\$1"))}.*`;
  if (spec.table === undefined) throw new Error("a table-level grant needs a table");
  return `${escapeId(spec.database)}.${escapeId(spec.table)}`;
}

/** `GRANT <keywords> ON <object> TO <account>`: keywords come from the allow-lists above, names are validated and quoted. */
export function grantStatement(
  spec: Parameters<typeof grantObject>[0] & { readonly privileges: readonly string[] },
  account: string,
): string {
  const allowed = privilegesFor(spec.scope);
  for (const privilege of spec.privileges) {
    if (!allowed.includes(privilege)) throw new Error("privilege outside the allow-list");
  }
  return `GRANT ${spec.privileges.join(", ")} ON ${grantObject(spec)} TO ${account}`;
}

/** What `privileges` expands to downstream (information_schema lists ALL PRIVILEGES as its parts). */
export function expandedPrivileges(scope: GrantScope, privileges: readonly string[]): string[] {
  if (!privileges.includes("ALL PRIVILEGES")) return [...privileges].sort();
  return privilegesFor(scope)
    .filter((p) => p !== "ALL PRIVILEGES")
    .sort();
}
