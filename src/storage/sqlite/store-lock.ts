// One broker per SQLite store: a lock held for the process's life, taken before the store is touched.
//
// The SQLite store assumes it is the only process (a restart releases the previous process's claims, runs migrations,
// loads keys): a second broker on the same file would do all that against a live one. The lock is an exclusive
// SQLite transaction on a small file beside the database, so the operating system holds it and drops it with the
// process (kill -9, OOM, a container restarted with the same pid): a dead holder never blocks a restart, and two
// brokers starting at once cannot both take it. A second file names the holder, for the refusal's message only.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import Database from "better-sqlite3";

export class StoreLockedError extends Error {
  constructor(
    message: string,
    readonly holderPid: number | null,
  ) {
    super(message);
    this.name = "StoreLockedError";
  }
}

export interface StoreLock {
  readonly path: string;
  /** Gives the lock up; safe to call twice. */
  release(): void;
}

interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/** Takes the lock for the SQLite database at `databasePath`, or throws StoreLockedError naming the holder. */
export function lockSqliteStore(databasePath: string): StoreLock {
  try {
    return takeLock(databasePath);
  } catch (error) {
    // Earlier brokers kept a JSON pid file under the same name; one left by a killed process is not a database.
    if ((error as { code?: string }).code !== "SQLITE_NOTADB") throw error;
    rmSync(`${databasePath}.lock`, { force: true });
    return takeLock(databasePath);
  }
}

function takeLock(databasePath: string): StoreLock {
  const path = `${databasePath}.lock`;
  const holderPath = `${databasePath}.lock.holder`;
  // timeout 0: a held lock is an answer now, not something to wait for.
  const db = new Database(path, { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE");
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code?.startsWith("SQLITE_BUSY")) {
      const holder = readHolder(holderPath);
      const who = holder ? `pid ${holder.pid} on ${holder.host}, since ${holder.since}` : "another process";
      throw new StoreLockedError(
        `${databasePath} is in use by another broker (${who}): stop it first`,
        holder?.pid ?? null,
      );
    }
    throw error;
  }
  const me: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  try {
    writeFileSync(holderPath, `${JSON.stringify(me)}\n`, { mode: 0o600 });
  } catch (error) {
    db.close();
    throw error;
  }
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      rmSync(holderPath, { force: true });
      db.close();
    },
  };
}

function readHolder(path: string): Holder | null {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<Holder>;
    if (typeof parsed.pid !== "number" || typeof parsed.host !== "string" || typeof parsed.since !== "string") {
      return null;
    }
    return { pid: parsed.pid, host: parsed.host, since: parsed.since };
  } catch {
    return null;
  }
}
