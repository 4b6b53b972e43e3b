// A value that must never be printed: it redacts itself in logs, JSON and inspection; only `reveal()` gives it out.
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
