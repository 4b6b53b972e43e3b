// Small SQL pieces for MariaDB: account literals, the client-side password hash, and driver errors made safe to throw.
import { createHash } from "node:crypto";
import { escape as quoteString } from "mysql2/promise";

/** `'name'@'host'` with both parts escaped as string literals (names are validated before they get here). */
export function accountLiteral(name: string, host: string): string {
  return `${quoteString(name)}@${quoteString(host)}`;
}

/**
 * The `mysql_native_password` hash of a password: `*` + upper-case hex of SHA1(SHA1(password)), what `PASSWORD()`
 * returns. MariaDB 10.11 refuses a bound parameter in `CREATE USER … IDENTIFIED BY ?` (measured: parse error), so the
 * broker sends `IDENTIFIED BY PASSWORD '<hash>'` instead: the password itself never appears in statement text, the
 * process list, the server's logs or a driver error's `sql`.
 */
export function nativePasswordHash(password: string): string {
  const sha1 = (data: Buffer | string) => createHash("sha1").update(data).digest();
  return `*${sha1(sha1(password)).toString("hex").toUpperCase()}`;
}

/** The fields of a mysql2 error the connector reads; never its `sql` (it may carry a hash). */
interface DriverError {
  readonly code?: unknown;
  readonly errno?: unknown;
  readonly sqlMessage?: unknown;
}

/** MariaDB error numbers that mysql2 names after an unrelated MySQL error (the two servers number differently). */
const MARIADB_NAMES: Readonly<Record<number, string>> = {
  4151: "ER_ACCOUNT_HAS_BEEN_LOCKED",
};

export const ER_ACCESS_DENIED_ERROR = 1045;
/** Also a refusal: the server answers an unknown user with a pretend auth plugin, so some names get this (measured). */
export const ER_ACCESS_DENIED_NO_PASSWORD_ERROR = 1698;
export const ER_NO_SUCH_THREAD = 1094;
export const ER_ACCOUNT_HAS_BEEN_LOCKED = 4151;

export function errnoOf(error: unknown): number | undefined {
  const errno = (error as DriverError | null)?.errno;
  return typeof errno === "number" ? errno : undefined;
}

/** `ER_ACCESS_DENIED_ERROR (1045)`, `ECONNREFUSED`…: the error's code, never its text. */
export function codeOf(error: unknown): string {
  const driver = (error ?? {}) as DriverError;
  const errno = errnoOf(error);
  const name = (errno !== undefined ? MARIADB_NAMES[errno] : undefined) ?? driver.code;
  const label = typeof name === "string" && /^[A-Z0-9_]{2,64}$/.test(name) ? name : "error";
  return errno !== undefined && errno > 0 && errno < 100_000 ? `${label} (${errno})` : label;
}

/**
 * A new Error for a failed statement: the target, the step and the driver's code. The server's message is added only
 * for statements that carry nothing secret (`carriesSecret: false`), because a parse error quotes the statement.
 */
export function statementError(targetId: string, step: string, error: unknown, carriesSecret: boolean): Error {
  const message = (error as DriverError | null)?.sqlMessage;
  const detail =
    !carriesSecret && typeof message === "string" && message.length > 0 ? `: ${message.slice(0, 200)}` : "";
  const failure = new Error(`targets.${targetId}: ${step} failed with ${codeOf(error)}${detail}`);
  failure.name = "MariadbError";
  return failure;
}
