// The SQLite store's public surface: the Store implementation and how to open one.

export type { SqliteConnection } from "./driver.js";
export { openDatabase } from "./driver.js";
export type { SqliteStoreOptions, SqliteStoreStats } from "./sqlite-store.js";
export { openSqliteStore, SqliteStore } from "./sqlite-store.js";
export type { StoreLock } from "./store-lock.js";
export { lockSqliteStore, StoreLockedError } from "./store-lock.js";
