// Named parameters (`@name`, as the SQLite statements use) compiled once to PostgreSQL's positional `$n`.

export interface CompiledSql {
  readonly text: string;
  readonly names: readonly string[];
}

const cache = new Map<string, CompiledSql>();

/** `@name` becomes `$n`, the same name the same `$n`. Names are letters, digits and `_`; SQL text carries no other `@`. */
export function compile(sql: string): CompiledSql {
  let compiled = cache.get(sql);
  if (compiled === undefined) {
    const names: string[] = [];
    const text = sql.replace(/@([A-Za-z_][A-Za-z0-9_]*)/g, (_match, name: string) => {
      let at = names.indexOf(name);
      if (at < 0) at = names.push(name) - 1;
      return `$${at + 1}`;
    });
    compiled = { text, names };
    cache.set(sql, compiled);
  }
  return compiled;
}

/** The positional values of `params` for a compiled statement; a missing parameter is a bug, not a NULL. */
export function bind(compiled: CompiledSql, params: object): unknown[] {
  const record = params as Readonly<Record<string, unknown>>;
  return compiled.names.map((name) => {
    if (!(name in record)) throw new Error(`SQL parameter @${name} has no value`);
    return record[name];
  });
}

/** A schema name used as an identifier: plain lower-case, so it needs no quoting anywhere. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
