// One broker per SQLite store: a lock file beside the database, held for the process's life, taken before the store is
// touched.
//
// The SQLite store assumes it is the only process (a restart releases the previous process's claims, runs migrations,
// loads keys): a second broker on the same file would do all that against a live one. Like PostgreSQL's
// postmaster.pid, the file names its holder; a holder that is no longer running (kill -9, power loss) leaves a stale
// file that the next start takes over.
import { closeSync, constants, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";

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
  /** Removes the lock file if it is still this process's; safe to call twice. */
  release(): void;
}

interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/** Takes the lock for the SQLite database at `databasePath`, or throws StoreLockedError naming the holder. */
export function lockSqliteStore(databasePath: string): StoreLock {
  const path = `${databasePath}.lock`;
  const me: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = readHolder(path);
      if (holder === null && writtenJustNow(path)) {
        throw new StoreLockedError(`${databasePath}: another broker is starting on it (${path} was just made)`, null);
      }
      if (holder !== null && holdsIt(holder)) {
        throw new StoreLockedError(
          `${databasePath} is in use by another broker (pid ${holder.pid} on ${holder.host}, since ${holder.since}): ` +
            `stop it first; if it is gone, remove ${path}`,
          holder.pid,
        );
      }
      // Stale (the holder is dead) or unreadable half-written file: take it over.
      try {
        unlinkSync(path);
      } catch (unlinkError) {
        if ((unlinkError as NodeJS.ErrnoException).code !== "ENOENT") throw unlinkError;
      }
      continue;
    }
    try {
      writeSync(fd, `${JSON.stringify(me)}\n`);
    } finally {
      closeSync(fd);
    }
    let released = false;
    return {
      path,
      release() {
        if (released) return;
        released = true;
        const current = readHolder(path);
        if (current !== null && current.pid === me.pid && current.host === me.host && current.since === me.since) {
          try {
            unlinkSync(path);
          } catch {
            // Already gone: nothing to release.
          }
        }
      },
    };
  }
  throw new StoreLockedError(`${databasePath}: could not take ${path} (another broker is starting?)`, null);
}

/** A lock file still being written by a broker that is starting right now. */
function writtenJustNow(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < 2000;
  } catch {
    return false;
  }
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

/**
 * Whether the holder still runs. On another host it cannot be told, so it is presumed alive (an operator removes the
 * file); on this host, a process with that pid exists. This process's own pid counts: a second broker in one process
 * on one store is the same mistake.
 */
function holdsIt(holder: Holder): boolean {
  if (holder.host !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
