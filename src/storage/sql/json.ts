// JSON columns: how nested values are written to text and read back, the same way in every SQL dialect.

/** JSON text of a value that must be JSON; refuses `undefined`, a function or a symbol rather than storing nothing. */
export function toJson(value: unknown, what: string): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`${what} is not JSON`);
  return text;
}

export function jsonOrNull<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}
