// The PostgreSQL store's public surface: the Store for several replicas and how to open one.
export type { PostgresStoreOptions } from "./connection.js";
export type { PostgresStoreStats } from "./postgres-store.js";
export { openPostgresStore, PostgresStore } from "./postgres-store.js";
