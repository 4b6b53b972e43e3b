// Errors the client throws: the broker said no (EphemeraApiError), could not be reached, or the client is misconfigured.
import type { Problem } from "./types.js";

/** The broker answered with a non-2xx status; `code` is the problem's stable code (see docs/errors.md). */
export class EphemeraApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  /** The problem document, or null when the answer was not one (a proxy's error page, say). */
  readonly problem: Problem | null;

  constructor(status: number, code: string, detail: string, problem: Problem | null) {
    super(`${detail} (${code})`);
    this.name = "EphemeraApiError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.problem = problem;
  }
}

/** The broker could not be reached or did not answer in time; nothing is known about what it did. */
export class EphemeraConnectionError extends Error {
  /** The broker's base URL (without any userinfo). */
  readonly url: string;

  constructor(url: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "EphemeraConnectionError";
    this.url = url;
  }
}

/** The client cannot be built: a missing or malformed URL or token. Names the variable or option, never its value. */
export class EphemeraConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EphemeraConfigError";
  }
}

export function isProblem(value: unknown): value is Problem {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === "string" && typeof v.detail === "string" && typeof v.status === "number";
}
