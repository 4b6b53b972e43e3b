// The store's connection and the settings its durability rests on: WAL, a full sync on every commit, foreign keys.
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { openDatabase, type SqliteConnection } from "./driver.js";

/** The connection's settings as SQLite reports them, for diagnostics. */
export interface ConnectionSettings {
  readonly journalMode: string;
  readonly synchronous: number;
  readonly foreignKeys: number;
  readonly busyTimeout: number;
}

/** Opens `path` (its directory is created if missing; ":memory:" or "" for a throwaway database) with those settings. */
export function openConnection(path: string, busyTimeoutMs: number): SqliteConnection {
  if (path !== ":memory:" && path !== "") {
    mkdirSync(dirname(resolve(path)), { recursive: true });
  }
  const db = openDatabase(path, { timeout: busyTimeoutMs });
  db.pragma("journal_mode = WAL");
  // Each change set runs in a savepoint whose sub-journal spills to a temp file past 64 KiB, one pwrite per page;
  // kept in memory it costs nothing in durability (it only serves ROLLBACK TO inside the open transaction).
  db.pragma("temp_store = MEMORY");
  // FULL syncs the WAL on every commit: a change set reported applied survives power loss, not just a crash.
  db.pragma("synchronous = FULL");
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  db.pragma("foreign_keys = ON");
  return db;
}

/** Reads the settings back from SQLite. */
export function connectionSettings(db: SqliteConnection): ConnectionSettings {
  const get = (name: string) => db.pragma(name, { simple: true });
  return {
    journalMode: String(get("journal_mode")),
    synchronous: Number(get("synchronous")),
    foreignKeys: Number(get("foreign_keys")),
    busyTimeout: Number(get("busy_timeout")),
  };
}
