// The SQLite store's public surface: the Store implementation and how to open one.
export type { SqliteStoreOptions, SqliteStoreStats } from "./sqlite-store.js";
export { openSqliteStore, SqliteStore } from "./sqlite-store.js";
