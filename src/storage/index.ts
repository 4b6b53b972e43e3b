// The storage folder's public surface: the Store port, its errors, and the embedded SQLite implementation.

export type { PostgresStore } from "./postgres/index.js";
export type { SqliteStoreOptions, SqliteStoreStats } from "./sqlite/index.js";
export { lockSqliteStore, openSqliteStore, SqliteStore } from "./sqlite/index.js";
export type {
  ApiKeyRecord,
  AuditLog,
  ChangeSet,
  ChangeSets,
  GrantFilter,
  GrantReport,
  GrantStore,
  GrantUsage,
  IdentityStore,
  Leases,
  NotificationRecord,
  ReportRange,
  RequestFilter,
  StatePort,
  StateReader,
  Store,
  StoredState,
  Write,
} from "./store.js";
export { ConflictError, StateNamespace, StateRepository, StoreUnavailableError } from "./store.js";
