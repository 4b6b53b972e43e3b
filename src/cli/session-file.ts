// The broker sessions `ephemera login` keeps for a person's later commands: one JSON file, mode 0600, keyed by broker URL.
// It holds the broker's short-lived session token only; never the provider's ID, access or refresh token, so what
// can leak from it dies with the session (at its expiry, at `ephemera logout`, or when the person is offboarded).
import {
  chmodSync,
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { CliError, EXIT, UsageError } from "./exit-codes.js";

/** What one broker's stored session is: the bearer token and what `ephemera login` printed about it. */
export interface StoredSession {
  readonly token: string;
  /** ISO 8601; the broker's own expiry of the session, checked here too so an expired one is never sent. */
  readonly expiresAt: string;
  /** The identity the broker signed in (e.g. an email address), for messages. */
  readonly identity: string;
  /** The provider the person signed in with. */
  readonly issuer: string;
}

interface SessionFile {
  readonly version: 1;
  readonly sessions: Readonly<Record<string, StoredSession>>;
}

/** A broker session token as the broker issues it: URL-safe characters, bounded. */
const TOKEN = /^[A-Za-z0-9._~-]{16,512}$/;
const LOGIN_AGAIN = "run ephemera login again";

/** Where sessions are kept: `--session-file`, else EPHEMERA_SESSION_FILE, else `<config dir>/ephemera/session.json`. */
export function sessionFilePath(env: Readonly<Record<string, string | undefined>>, flag?: string): string {
  if (flag) return flag;
  if (env.EPHEMERA_SESSION_FILE) return env.EPHEMERA_SESSION_FILE;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "ephemera", "session.json");
}

/** Sessions are keyed by the broker's normalised URL, so `--url http://h:1/` and `http://h:1` find the same one. */
export function brokerKey(url: string): string {
  const u = new URL(url);
  u.username = "";
  u.password = "";
  u.search = "";
  u.hash = "";
  return u.toString().replace(/\/+$/, "");
}

/**
 * Reads the file; null when it does not exist. Refused (never silently used) when it is not a regular file owned by
 * this user with mode 0600 or stricter, or when its content is not a session file: someone else may have read or
 * written it.
 */
function readSessionFile(path: string): SessionFile | null {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new CliError(`cannot read the session file ${path}: ${(error as Error).message}`, EXIT.error);
  }
  if (!stat.isFile())
    throw new CliError(`the session file ${path} is not a regular file; remove it and ${LOGIN_AGAIN}`, EXIT.usage);
  if (typeof process.getuid === "function" && stat.uid !== process.getuid()) {
    throw new CliError(`the session file ${path} belongs to another user; remove it and ${LOGIN_AGAIN}`, EXIT.usage);
  }
  // Windows reports no POSIX modes (every file reads as 0666); the profile folder's ACL is what guards the file there.
  if (process.platform !== "win32" && (stat.mode & 0o077) !== 0) {
    throw new CliError(
      `the session file ${path} has mode ${(stat.mode & 0o777).toString(8)}, readable by others: the session in it may have been copied; remove it and ${LOGIN_AGAIN}`,
      EXIT.usage,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    throw new CliError(`the session file ${path} is not valid JSON; remove it and ${LOGIN_AGAIN}`, EXIT.usage);
  }
  const problem = fileProblem(parsed);
  if (problem) throw new CliError(`the session file ${path} ${problem}; remove it and ${LOGIN_AGAIN}`, EXIT.usage);
  return parsed as SessionFile;
}

function fileProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "is not a JSON object";
  const v = value as Record<string, unknown>;
  if (v.version !== 1) return "has an unknown version";
  const sessions = v.sessions;
  if (typeof sessions !== "object" || sessions === null || Array.isArray(sessions)) return "has no sessions";
  for (const [url, session] of Object.entries(sessions)) {
    const problem = sessionProblem(session);
    if (problem) return `has a session for ${url} that ${problem}`;
  }
  return null;
}

function sessionProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return "is not an object";
  const s = value as Record<string, unknown>;
  if (typeof s.token !== "string" || !TOKEN.test(s.token)) return "has no valid token";
  if (typeof s.expiresAt !== "string" || Number.isNaN(Date.parse(s.expiresAt))) return "has no valid expiresAt";
  if (typeof s.identity !== "string" || typeof s.issuer !== "string") return "names no identity or issuer";
  return null;
}

/** The stored session for `url`, checked: null when there is none; an error naming what to do when it has expired. */
export function storedSession(path: string, url: string, now: number): StoredSession | null {
  const file = readSessionFile(path);
  const session = file?.sessions[brokerKey(url)];
  if (!session) return null;
  if (Date.parse(session.expiresAt) <= now) {
    throw new CliError(
      `your session on ${brokerKey(url)} (${session.identity}) expired at ${session.expiresAt}: ${LOGIN_AGAIN}`,
      EXIT.forbidden,
    );
  }
  return session;
}

/** Refuses a session file that could not be written to later, before anyone signs in for nothing. */
export function checkSessionFile(path: string): void {
  readSessionFile(path);
}

/** Stores `session` for `url`, keeping other brokers' sessions; written to a temporary file (0600) and renamed. */
export function saveSession(path: string, url: string, session: StoredSession): void {
  const problem = sessionProblem(session);
  if (problem) throw new UsageError(`the broker's session ${problem}`);
  const current = readSessionFile(path);
  const next: SessionFile = { version: 1, sessions: { ...(current?.sessions ?? {}), [brokerKey(url)]: session } };
  writeSessionFile(path, next);
}

/** Removes the session for `url`; answers it (to end at the broker), or null when there was none. The file goes when empty. */
export function removeSession(path: string, url: string): StoredSession | null {
  const current = readSessionFile(path);
  const key = brokerKey(url);
  const removed = current?.sessions[key];
  if (!current || !removed) return null;
  const sessions = { ...current.sessions };
  delete sessions[key];
  if (Object.keys(sessions).length === 0) rmSync(path, { force: true });
  else writeSessionFile(path, { version: 1, sessions });
  return removed;
}

function writeSessionFile(path: string, file: SessionFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  // O_EXCL: never write through a file (or link) someone placed at the temporary name; one left by a crashed run of
  // the same pid is removed (a link itself, not what it points at) and the exclusive open tried once more.
  let fd: number;
  try {
    fd = openSync(temporary, "wx", 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    rmSync(temporary, { force: true });
    fd = openSync(temporary, "wx", 0o600);
  }
  try {
    writeSync(fd, `${JSON.stringify(file, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  // The umask cannot widen 0600, but an explicit chmod makes the mode what this file promises whatever it is.
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}
