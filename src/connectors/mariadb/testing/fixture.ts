// What the MariaDB connector's tests share: the real server at 127.0.0.1:3306, a database, a least-privilege admin
// account and a key prefix of their own, each unique per test file and removed afterwards.
import { type Connection, createConnection, escapeId, type RowDataPacket } from "mysql2/promise";
import type { Grant } from "../../../domain/types.js";
import { randomToken } from "../../../support/ids.js";
import type { Connector, EntitlementSpec, IssuedCredential } from "../../connector.js";
import type { ContractSubject, OpenSession } from "../../testing/contract.js";
import { requireService } from "../../testing/services.js";
import {
  connectorContext,
  entitlement,
  grantFor,
  type TestContext,
  testIdentity,
} from "../../testing/target-fixture.js";
import { createMariadbConnector } from "../index.js";

export const HOST = "127.0.0.1";
export const PORT = 3306;
export const TARGET_ID = "orders-db";

/** Root of the test server (empty password); used only to set up and inspect, never rotated. */
export function rootConnection(): Promise<Connection> {
  return createConnection({ host: HOST, port: PORT, user: "root", password: "", connectTimeout: 3_000 });
}

export function mariadbAvailable(): Promise<boolean> {
  return requireService("mariadb at 127.0.0.1:3306 (root, empty password)", async () => {
    const root = await rootConnection();
    await root.query("SELECT 1");
    await root.end();
  });
}

/** A prefix no other test file uses: `et` + 6 random characters + `_` (within PREFIX_PATTERN's 16). */
export function testPrefix(): string {
  return `et${randomToken(6)}_`;
}

/** `_` is a wildcard in database-level grants: the test's own admin gets exactly its database. */
function schemaPattern(database: string): string {
  return escapeId(database.replace(/_/g, "\\_"));
}

export interface AdminAccount {
  readonly user: string;
  readonly password: string;
}

/**
 * An admin with the least privileges the docs ask for: CREATE USER, PROCESS and CONNECTION ADMIN on the server, SELECT
 * on the mysql schema, and the privileges it hands out, with GRANT OPTION, on the database it manages.
 */
export async function createLeastPrivilegeAdmin(root: Connection, database: string): Promise<AdminAccount> {
  const user = `etadm_${randomToken(8)}`;
  const password = randomToken(24);
  await root.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [user, password]);
  await root.query(`GRANT CREATE USER, PROCESS, CONNECTION ADMIN ON *.* TO ?@'%'`, [user]);
  await root.query(`GRANT SELECT ON mysql.* TO ?@'%'`, [user]);
  await root.query(`GRANT ALL PRIVILEGES ON ${schemaPattern(database)}.* TO ?@'%' WITH GRANT OPTION`, [user]);
  return { user, password };
}

/** A full admin (ALL PRIVILEGES ON *.* WITH GRANT OPTION) made for one test, e.g. to rotate its password. */
export async function createFullAdmin(root: Connection, label = "etrot"): Promise<AdminAccount> {
  const user = `${label}_${randomToken(8)}`;
  const password = randomToken(24);
  await root.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [user, password]);
  await root.query(`GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION`, [user]);
  return { user, password };
}

/** Drops every account whose name starts with one of `starts` (killing its sessions first). */
export async function dropAccounts(root: Connection, starts: readonly string[]): Promise<void> {
  const [users] = await root.query<RowDataPacket[]>("SELECT User, Host FROM mysql.user");
  const doomed = users.filter((u) => starts.some((s) => String(u.User).startsWith(s)));
  const names = new Set(doomed.map((u) => String(u.User)));
  const [sessions] = await root.query<RowDataPacket[]>("SELECT ID, USER FROM information_schema.PROCESSLIST");
  for (const s of sessions) {
    if (names.has(String(s.USER))) await root.query("KILL CONNECTION ?", [s.ID]).catch(() => {});
  }
  for (const u of doomed) await root.query("DROP USER IF EXISTS ?@?", [u.User, u.Host]);
}

export interface MariadbFixture {
  readonly root: Connection;
  readonly ctx: TestContext;
  readonly prefix: string;
  readonly database: string;
  readonly admin: AdminAccount;
  readonly connector: Connector;
  readonly entitlement: EntitlementSpec;
  makeGrant(spec?: EntitlementSpec): Grant;
  /** A connector on the same target settings with some changed (another port, host, prefix…). */
  connectorWith(settings: Readonly<Record<string, unknown>>, ctx?: TestContext): Connector;
  cleanup(): Promise<void>;
}

/** Database `etdb_…` with table `items` (one row), a least-privilege admin, and a connector logged in as that admin. */
export async function mariadbFixture(options: { port?: number; admin?: AdminAccount } = {}): Promise<MariadbFixture> {
  const root = await rootConnection();
  const prefix = testPrefix();
  const database = `etdb_${randomToken(8)}`;
  await root.query(`CREATE DATABASE ${escapeId(database)}`);
  await root.query(`CREATE TABLE ${escapeId(database)}.items (id INT PRIMARY KEY, name VARCHAR(40))`);
  await root.query(`INSERT INTO ${escapeId(database)}.items VALUES (1, 'first')`);
  const admin = options.admin ?? (await createLeastPrivilegeAdmin(root, database));
  const ctx = connectorContext();
  const base = {
    url: `mysql://${admin.user}@${HOST}:${options.port ?? PORT}`,
    password: admin.password,
    prefix,
  };
  const connectorWith = (settings: Readonly<Record<string, unknown>>, context: TestContext = ctx) =>
    createMariadbConnector({ id: TARGET_ID, type: "mariadb", settings: { ...base, ...settings } }, context);
  const connector = connectorWith({});
  const spec = entitlement(TARGET_ID, "read", { database, privileges: ["SELECT", "INSERT"] });
  const made: Connector[] = [connector];
  return {
    root,
    ctx,
    prefix,
    database,
    admin,
    connector,
    entitlement: spec,
    makeGrant: (other = spec) => grantFor(connector, other, testIdentity),
    connectorWith: (settings, context) => {
      const c = connectorWith(settings, context);
      made.push(c);
      return c;
    },
    async cleanup() {
      for (const c of made) await c.close();
      await dropAccounts(root, [prefix, ...(options.admin ? [] : [admin.user])]);
      await root.query(`DROP DATABASE IF EXISTS ${escapeId(database)}`);
      await root.end();
    },
  };
}

/** Logs in with an issued credential's fields, without a default database unless asked. */
export function loginWith(credential: IssuedCredential, withDatabase = true): Promise<Connection> {
  const f = credential.fields.reveal();
  return createConnection({
    host: f.host ?? HOST,
    port: Number(f.port),
    user: f.username ?? "",
    password: f.password ?? "",
    ...(withDatabase && f.database ? { database: f.database } : {}),
    connectTimeout: 3_000,
  });
}

/** True when the credential logs in and can read the test table. */
export async function canRead(credential: IssuedCredential): Promise<boolean> {
  try {
    const connection = await loginWith(credential);
    try {
      await connection.query("SELECT COUNT(*) FROM items");
      return true;
    } finally {
      connection.destroy();
    }
  } catch {
    return false;
  }
}

export async function openReadSession(credential: IssuedCredential): Promise<OpenSession> {
  const connection = await loginWith(credential);
  connection.on("error", () => {});
  return {
    async usable() {
      try {
        await connection.query({ sql: "SELECT COUNT(*) FROM items", timeout: 3_000 });
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      connection.destroy();
    },
  };
}

export function contractSubject(f: MariadbFixture): ContractSubject {
  return {
    connector: f.connector,
    identity: testIdentity,
    entitlement: f.entitlement,
    makeGrant: () => f.makeGrant(),
    useCredential: canRead,
    openSession: (credential) => openReadSession(credential),
    cleanup: () => f.cleanup(),
  };
}

/** Accounts (name@host) whose name starts with `prefix`, as the catalogue lists them. */
export async function accountsWithPrefix(root: Connection, prefix: string): Promise<string[]> {
  const [rows] = await root.query<RowDataPacket[]>("SELECT User, Host FROM mysql.user");
  return rows
    .filter((r) => String(r.User).startsWith(prefix))
    .map((r) => `${r.User}@${r.Host}`)
    .sort();
}
