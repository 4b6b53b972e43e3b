// The `ephemera` command's exit codes, in one place: stable, documented, and what scripts may branch on.
import { EphemeraApiError, EphemeraConfigError, EphemeraConnectionError } from "../client/index.js";

/**
 * | code | meaning |
 * |---|---|
 * | 0 | success |
 * | 1 | unexpected error, or the broker failed (5xx); `exec`: ending the grant failed after the command succeeded |
 * | 2 | usage or configuration error (bad option, missing token, invalid config file, 400 from the broker) |
 * | 3 | denied or forbidden (401, 403: policy denied, wrong key, not an admin, not the owner) |
 * | 4 | not found (404) |
 * | 5 | the broker could not be reached or did not answer in time |
 * | 6 | `audit verify`: the audit chain is broken |
 * | 7 | conflict (409): e.g. the grant is not active, or already at its maximum duration |
 *
 * `exec` exits with its command's code instead (128 + signal number when the command was killed by a signal; 127 when
 * the command was not found, 126 when it could not be run).
 */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  forbidden: 3,
  notFound: 4,
  unreachable: 5,
  auditBroken: 6,
  conflict: 7,
  cannotRun: 126,
  commandNotFound: 127,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A mistake in how the command was called (a missing token, a bad value); exits with EXIT.usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A failure the command names itself, with the exit code it means (an expired session, a refused sign-in). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export function exitCodeForStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.forbidden;
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  if (status >= 400 && status < 500) return EXIT.usage;
  return EXIT.error;
}

export function exitCodeForError(error: unknown): ExitCode {
  if (error instanceof EphemeraApiError) return exitCodeForStatus(error.status);
  if (error instanceof EphemeraConnectionError) return EXIT.unreachable;
  if (error instanceof EphemeraConfigError || error instanceof UsageError) return EXIT.usage;
  if (error instanceof CliError) return error.exitCode;
  return EXIT.error;
}
