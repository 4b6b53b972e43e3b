// Opens better-sqlite3 connections whose native objects are never garbage-collected, to dodge an abort on Node 24.
//
// better-sqlite3 12 (the last line that runs on Node 20) aborts a Node 24 process when a Statement's destructor runs
// inside a garbage collection started from a microtask checkpoint: `Assertion failed: (env) != nullptr` in
// RemoveEnvironmentCleanupHook. So nothing native may become garbage: each distinct SQL text is prepared once per
// connection, and every connection — with the statements better-sqlite3 caches on it for transactions — stays
// reachable for the life of the process. What this keeps is bounded by the store's fixed set of SQL texts.
import Database from "better-sqlite3";

const pinned = new Set<Database.Database>();

export type SqliteConnection = Database.Database;

export function openDatabase(path: string, options: Database.Options = {}): SqliteConnection {
  const db = new Database(path, options);
  pinned.add(db);
  const statements = new Map<string, Database.Statement>();
  const prepare = db.prepare.bind(db);
  const cachedPrepare = (sql: string): Database.Statement => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  Object.defineProperty(db, "prepare", { value: cachedPrepare });
  // `pragma()` prepares a fresh statement on every call; here each pragma text goes through the cache too.
  Object.defineProperty(db, "pragma", {
    value: (source: string, pragmaOptions: { simple?: boolean } = {}) => {
      const statement = cachedPrepare(`PRAGMA ${source}`);
      if (!statement.reader) {
        statement.run();
        return pragmaOptions.simple ? undefined : [];
      }
      return pragmaOptions.simple ? statement.pluck(true).get() : statement.pluck(false).all();
    },
  });
  return db;
}
