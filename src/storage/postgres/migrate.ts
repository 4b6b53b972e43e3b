// Brings a PostgreSQL schema up to date: creates it if needed and applies missing migrations, one replica at a time.
import type { PoolClient } from "pg";
import { pendingMigrations } from "../migrations/migration.js";
import { postgresMigrations } from "../migrations/postgres/index.js";

/** `schema` is checked (plain lower-case) before it gets here; the client's search path already names it. */
export async function migratePostgres(client: PoolClient, schema: string): Promise<void> {
  await client.query("BEGIN");
  try {
    // Replicas starting together queue here instead of racing to create the same tables.
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`ephemera-migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
    const applied = new Set(
      (await client.query<{ version: number }>("SELECT version FROM schema_migrations")).rows.map((r) => r.version),
    );
    for (const m of pendingMigrations(postgresMigrations, applied)) {
      await client.query(m.up);
      await client.query(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, (extract(epoch FROM now()) * 1000)::bigint)",
        [m.version, m.name],
      );
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}
