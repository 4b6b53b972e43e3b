import { Client, escapeIdentifier } from "pg";
import { randomToken } from "../../../support/ids.js";
import { requireService } from "../../testing/services.js";

export const PG_HOST = "127.0.0.1";
export const PG_PORT = 5432;
export const PG_DATABASE = "test";
export const PG_URL = `postgres://postgres@${PG_HOST}:${PG_PORT}/${PG_DATABASE}`;

export function pgClient(options: { user?: string; password?: string; database?: string; port?: number } = {}): Client {
  const client = new Client({
    host: PG_HOST,
    port: options.port ?? PG_PORT,
    user: options.user ?? "postgres",
    password: options.password ?? "",
    database: options.database ?? PG_DATABASE,
    connectionTimeoutMillis: 5_000,
  });
  client.on("error", () => {});
  return client;
}

/** Gate for a test file: true when the server answers a query. */
export function postgresUp(): Promise<boolean> {
  return requireService("postgres on 127.0.0.1:5432", async () => {
    const client = pgClient();
    await client.connect();
    try {
      await client.query("SELECT 1");
    } finally {
      await client.end();
    }
  });
}

/** A prefix unique to one test file, short enough that prefix + grant tail stays under 63 characters. */
export function testPrefix(): string {
  return `eph_t${randomToken(6)}_`;
}

/** A superuser connection for setup and inspection, opened once per file. */
export class Superuser {
  readonly client = pgClient();
  #open: Promise<void> | null = null;
  async query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: unknown[]) {
    this.#open ??= this.client.connect().then(() => undefined);
    await this.#open;
    return this.client.query<R>(text, values);
  }
  async rolesLike(prefix: string): Promise<string[]> {
    const result = await this.query<{ rolname: string }>(
      "SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY rolname",
      [prefix],
    );
    return result.rows.map((r) => r.rolname);
  }
  async roleExists(name: string): Promise<boolean> {
    return (await this.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [name])).rowCount === 1;
  }
  async memberships(member: string): Promise<string[]> {
    const result = await this.query<{ rolname: string }>(
      `SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
        WHERE u.rolname = $1 ORDER BY 1`,
      [member],
    );
    return result.rows.map((r) => r.rolname);
  }
  /** Ends sessions, then drops every role whose name starts with `prefix` (and what they own, in any database). */
  async dropRolesLike(prefix: string): Promise<void> {
    await this.dropRoles(await this.rolesLike(prefix));
  }
  async dropRole(role: string): Promise<void> {
    await this.dropRoles([role]);
  }
  async dropRoles(roles: readonly string[]): Promise<void> {
    if (roles.length === 0) return;
    await this.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY($1) AND pid <> pg_backend_pid()",
      [roles],
    );
    const owning = await this.query<{ rolname: string; datname: string }>(
      `SELECT DISTINCT r.rolname, coalesce(d.datname, 'test') AS datname FROM pg_shdepend s
         JOIN pg_roles r ON r.oid = s.refobjid LEFT JOIN pg_database d ON d.oid = s.dbid
        WHERE s.refclassid = 'pg_authid'::regclass AND r.rolname = ANY($1)`,
      [roles],
    );
    for (const { rolname, datname } of owning.rows) {
      const client = pgClient({ database: datname });
      await client.connect();
      try {
        await client.query(`REASSIGN OWNED BY ${escapeIdentifier(rolname)} TO postgres`).catch(() => {});
        await client.query(`DROP OWNED BY ${escapeIdentifier(rolname)}`).catch(() => {});
      } finally {
        await client.end();
      }
    }
    for (const role of roles) await this.query(`DROP ROLE IF EXISTS ${escapeIdentifier(role)}`);
  }
  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}

/** Opens a login and runs `sql`; true when it worked, false when PostgreSQL refused (login or privilege). */
export async function runAs(user: string, password: string, sql: string, port = PG_PORT): Promise<boolean> {
  const client = pgClient({ user, password, port });
  try {
    await client.connect();
    await client.query(sql);
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export type { SqliteContext } from "../../testing/target-fixture.js";
export { moveGrant, sqliteConnectorContext as sqliteContext, storeGrant } from "../../testing/target-fixture.js";

export { randomToken };
