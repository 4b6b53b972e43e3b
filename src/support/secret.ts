// A value that must never be printed: it redacts itself in logs, JSON and inspection; only `reveal()` gives it out.
import { createHash, timingSafeEqual } from "node:crypto";
import { inspect } from "node:util";

const REDACTED = "[REDACTED]";

export class Secret<T = string> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  /** The only way to read the value; call it where the value leaves the broker on purpose. */
  reveal(): T {
    return this.#value;
  }
  toJSON(): string {
    return REDACTED;
  }
  toString(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}

/** Compares two secrets in time that does not depend on where they differ (digests of equal length). */
export function sameSecret(a: string, b: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();
  return timingSafeEqual(digest(a), digest(b));
}
