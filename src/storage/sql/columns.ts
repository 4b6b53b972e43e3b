// Column lists from row types, and the insert and versioned-update statements built from them (named `@` parameters).

/** Column names of a row type; the record literal makes the compiler flag a missing or unknown column. */
export function columns<Row>(names: { [K in keyof Row]: true }): readonly string[] {
  return Object.keys(names);
}

export function insertSql(table: string, cols: readonly string[]): string {
  return `INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map((c) => `@${c}`).join(", ")})`;
}

/** The optimistic write: changes one row only when it still has the version the caller read. */
export function updateSql(table: string, cols: readonly string[]): string {
  const set = cols.filter((c) => c !== "id").map((c) => `${c} = @${c}`);
  return `UPDATE ${table} SET ${set.join(", ")} WHERE id = @id AND version = @expected_version`;
}
