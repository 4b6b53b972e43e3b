// Brings a SQLite file's schema up to date: the migrations it has not applied yet, under the write lock.
import type Database from "better-sqlite3";
import { pendingMigrations } from "../migrations/migration.js";
import { sqliteMigrations } from "../migrations/sqlite/index.js";

export function migrateSqlite(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const upgrade = db.transaction(() => {
    const applied = new Set(db.prepare<[], number>("SELECT version FROM schema_migrations").pluck().all());
    const record = db.prepare<[number, string]>(
      "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, unixepoch() * 1000)",
    );
    for (const m of pendingMigrations(sqliteMigrations, applied)) {
      db.exec(m.up);
      record.run(m.version, m.name);
    }
  });
  // IMMEDIATE takes the write lock first, so two processes starting together cannot both run a migration.
  upgrade.immediate();
}
