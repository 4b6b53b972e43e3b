// Stores for tests that keep nothing on disk: SQLite in memory (the store contract runs on it too), and an outage of
// one change set, for tests of what a failed commit leaves behind.
import { SqliteStore } from "../sqlite/sqlite-store.js";
import type { ChangeSets } from "../store.js";

/** A migrated SQLite store in memory, ready on return, so fixtures built synchronously can use it. */
export function memoryStore(): SqliteStore {
  const store = new SqliteStore({ path: ":memory:" });
  // better-sqlite3 is synchronous: the schema is in place before migrate() returns its promise.
  void store.migrate();
  return store;
}

/** Makes the store's next change set fail, as an outage would (nothing of it is written); the ones after go through. */
export function failNextApply(store: ChangeSets): void {
  const apply = store.apply;
  store.apply = async () => {
    store.apply = apply;
    throw new Error("store unavailable (injected failure)");
  };
}
