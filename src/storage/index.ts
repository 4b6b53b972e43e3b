// The storage folder's public surface: the Store port, its errors, and the embedded SQLite implementation.
export type { SqliteStoreOptions, SqliteStoreStats } from "./sqlite/index.js";
export { openSqliteStore, SqliteStore } from "./sqlite/index.js";
export type {
  ApiKeyRecord,
  ChangeSet,
  GrantFilter,
  GrantReport,
  GrantUsage,
  NotificationRecord,
  ReportRange,
  RequestFilter,
  Store,
  StoredState,
  Write,
} from "./store.js";
export { ConflictError, StoreUnavailableError } from "./store.js";
