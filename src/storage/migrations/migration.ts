// The shape of one versioned schema migration, shared by every SQL store.

/** A forward-only schema change. Versions are applied in ascending order and never edited once released. */
export interface Migration {
  readonly version: number;
  /** Short kebab-case description, recorded in `schema_migrations`. */
  readonly name: string;
  /** SQL run as one script inside the migration transaction. */
  readonly up: string;
}

/** Throws unless versions are positive integers in strictly ascending order: a mistake here would skip or rerun DDL. */
export function assertOrdered(migrations: readonly Migration[]): void {
  let last = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version <= last) {
      throw new Error(`migration ${m.version} (${m.name}) is out of order after version ${last}`);
    }
    last = m.version;
  }
}

/** The migrations still to apply, in order; throws when the database holds a version this broker does not know. */
export function pendingMigrations(migrations: readonly Migration[], applied: ReadonlySet<number>): Migration[] {
  const known = new Set(migrations.map((m) => m.version));
  for (const version of applied) {
    if (!known.has(version)) throw new Error(`database schema version ${version} is newer than this broker`);
  }
  return migrations.filter((m) => !applied.has(m.version));
}
