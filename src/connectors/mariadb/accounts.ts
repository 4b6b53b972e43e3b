// Every login account in a MariaDB server with what it may do, in MariaDB's own words, for reconciliation and discovery.
import type { AccountInfo } from "../connector.js";
import { isManagedName } from "../support/accounts.js";
import type { AdminConnection } from "./admin-connection.js";

interface Grantee {
  readonly GRANTEE: string;
  readonly PRIVILEGE_TYPE: string;
  readonly IS_GRANTABLE: string;
}
interface SchemaGrant extends Grantee {
  readonly TABLE_SCHEMA: string;
}
interface TableGrant extends SchemaGrant {
  readonly TABLE_NAME: string;
}

/** Global privileges that amount to administering the server (besides ALL PRIVILEGES and a global GRANT OPTION). */
const ADMIN_GLOBALS = new Set(["SUPER", "CREATE USER"]);
/** Writing to the mysql schema is writing the account catalogue. */
const CATALOG_WRITES = new Set(["INSERT", "UPDATE", "DELETE", "ALL PRIVILEGES"]);

/** How information_schema names a grantee: `'user'@'host'`. */
function granteeOf(user: string, host: string): string {
  return `'${user}'@'${host}'`;
}

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = map.get(k);
    if (list) list.push(row);
    else map.set(k, [row]);
  }
  return map;
}

interface Summary {
  /** `SELECT, INSERT` or `ALL PRIVILEGES`, with ` WITH GRANT OPTION` when granted so; empty for USAGE alone. */
  readonly words: string;
  readonly set: ReadonlySet<string>;
  readonly grantable: boolean;
}

/** Privilege rows of one grantee on one object, in MariaDB's words; ALL PRIVILEGES when they cover `all`. */
function summarize(rows: readonly Grantee[], all: ReadonlySet<string> | null): Summary {
  const set = new Set(rows.map((r) => r.PRIVILEGE_TYPE.toUpperCase()).filter((p) => p !== "USAGE"));
  const everything = all !== null && all.size > 0 && [...all].every((p) => set.has(p));
  if (everything) set.add("ALL PRIVILEGES");
  const grantable = rows.some((r) => r.IS_GRANTABLE === "YES");
  const list = everything ? "ALL PRIVILEGES" : [...set].sort().join(", ");
  const words = grantable ? `${list || "USAGE"} WITH GRANT OPTION` : list;
  return { words, set, grantable };
}

/** One entry per account; the broker's own accounts are merged by name (an account may have twins on other hosts). */
export async function listAccounts(db: AdminConnection, prefix: string): Promise<AccountInfo[]> {
  const [users, globals, schemas, tables, privileges, me] = await Promise.all([
    db.run<{ User: string; Host: string }[]>(
      "read mysql.user",
      "SELECT User, Host FROM mysql.user WHERE is_role = 'N' ORDER BY User, Host",
    ),
    db.run<Grantee[]>(
      "read USER_PRIVILEGES",
      "SELECT GRANTEE, PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.USER_PRIVILEGES",
    ),
    db.run<SchemaGrant[]>(
      "read SCHEMA_PRIVILEGES",
      "SELECT GRANTEE, TABLE_SCHEMA, PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.SCHEMA_PRIVILEGES",
    ),
    db.run<TableGrant[]>(
      "read TABLE_PRIVILEGES",
      "SELECT GRANTEE, TABLE_SCHEMA, TABLE_NAME, PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.TABLE_PRIVILEGES",
    ),
    db.run<{ Privilege: string }[]>("SHOW PRIVILEGES", "SHOW PRIVILEGES"),
    db.run<{ me: string }[]>("read CURRENT_USER()", "SELECT CURRENT_USER() AS me"),
  ]);
  // What ALL PRIVILEGES on *.* expands to on this server: every privilege it knows but USAGE, GRANT OPTION and PROXY.
  const all = new Set(
    privileges.map((p) => p.Privilege.toUpperCase()).filter((p) => !["USAGE", "GRANT OPTION", "PROXY"].includes(p)),
  );
  const broker = me[0]?.me ?? "";
  const globalBy = groupBy(globals, (r) => r.GRANTEE);
  const schemaBy = groupBy(schemas, (r) => r.GRANTEE);
  const tableBy = groupBy(tables, (r) => r.GRANTEE);

  const accounts = new Map<string, AccountInfo>();
  for (const { User: user, Host: host } of users) {
    const grantee = granteeOf(user, host);
    const words: string[] = [];
    let admin = false;
    const global = summarize(globalBy.get(grantee) ?? [], all);
    if (global.words !== "") words.push(`global: ${global.words}`);
    admin ||= global.grantable || global.set.has("ALL PRIVILEGES") || [...ADMIN_GLOBALS].some((p) => global.set.has(p));
    for (const [schema, rows] of groupBy(schemaBy.get(grantee) ?? [], (r) => r.TABLE_SCHEMA)) {
      const onSchema = summarize(rows, null);
      words.push(`\`${schema}\`.*: ${onSchema.words || "USAGE"}`);
      if (schema.toLowerCase() === "mysql") admin ||= [...CATALOG_WRITES].some((p) => onSchema.set.has(p));
    }
    for (const [object, rows] of groupBy(
      tableBy.get(grantee) ?? [],
      (r) => `\`${r.TABLE_SCHEMA}\`.\`${r.TABLE_NAME}\``,
    )) {
      words.push(`${object}: ${summarize(rows, null).words || "USAGE"}`);
    }
    const managed = isManagedName(prefix, user);
    const isBroker = `${user}@${host}` === broker;
    const handle = managed ? user : `${user}@${host}`;
    const earlier = accounts.get(handle);
    accounts.set(handle, {
      handle,
      managed,
      // MariaDB has no account expiry (no VALID UNTIL): the broker's own expiry is the only one.
      expiresAt: null,
      privileges: earlier ? [...new Set([...earlier.privileges, ...words])] : words,
      admin: (earlier?.admin ?? false) || admin,
      ...(isBroker || earlier?.broker ? { broker: true } : {}),
    });
  }
  return [...accounts.values()];
}
