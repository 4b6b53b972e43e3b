// Opens the configured store: PostgreSQL shared by replicas, or SQLite (a file this process locks, or in memory).
import type { Config } from "../config/index.js";
import type { PostgresStore, SqliteStore } from "../storage/index.js";
import { lockSqliteStore, openSqliteStore } from "../storage/index.js";

export type OpenedStore = SqliteStore | PostgresStore;

export interface StoreHandle {
  readonly store: OpenedStore;
  /** True on PostgreSQL, which several replicas may share. */
  readonly shared: boolean;
  /** Closes the store and gives up its lock. */
  close(): Promise<void>;
}

/** Opens the store; when that fails, the lock taken for it is given up again before the error is thrown. */
export async function openStore(config: Config): Promise<StoreHandle> {
  const pg = config.storage.postgres;
  // A SQLite store is one process's: its lock is taken before anything reads or migrates it.
  const sqlitePath = config.storage.sqlitePath;
  const storeLock = pg || sqlitePath === ":memory:" ? null : lockSqliteStore(sqlitePath);
  let store: OpenedStore;
  try {
    // The PostgreSQL driver loads only when PostgreSQL is configured.
    store = pg
      ? await (await import("../storage/postgres/index.js")).openPostgresStore({
          url: pg.url,
          password: pg.password ?? undefined,
          schema: pg.schema,
          poolSize: pg.poolSize,
        })
      : await openSqliteStore(sqlitePath);
  } catch (error) {
    storeLock?.release();
    throw error;
  }
  return {
    store,
    shared: pg !== null,
    async close() {
      await store.close();
      storeLock?.release();
    },
  };
}
