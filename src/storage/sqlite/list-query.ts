// List queries with optional filters for SQLite: only the conditions that have a value, each a bound parameter.
import { checkLimit } from "../port-rules.js";

/** One condition of a list query: its SQL (naming `@name`) and the bound value; skipped when the value is undefined. */
type Condition = readonly [sql: string, name: string, value: string | number | undefined];

/**
 * `select` with the conditions that have a value, ordered by id, limited; and its bound parameters. An `IN` list is
 * one JSON parameter, so every filter stays a bound parameter and the number of distinct statements stays small.
 */
export function listQuery(
  select: string,
  limit: number,
  conditions: readonly Condition[],
): { sql: string; params: Record<string, string | number> } {
  const params: Record<string, string | number> = { limit: checkLimit(limit) };
  const where: string[] = [];
  for (const [sql, name, value] of conditions) {
    if (value === undefined) continue;
    where.push(sql);
    params[name] = value;
  }
  return {
    sql: `${select}${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY id LIMIT @limit`,
    params,
  };
}

export const inList = (values: readonly string[] | undefined): string | undefined =>
  values === undefined ? undefined : JSON.stringify(values);
