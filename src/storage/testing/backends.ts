// Both store backends for tests that run one body on each: SQLite in a temporary folder and PostgreSQL in a schema of
// its own, with `another()` opening a second store on the same data (another replica on PostgreSQL; the same
// store on SQLite, which one process owns).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPostgresStore } from "../postgres/postgres-store.js";
import { testSchema } from "../postgres/testing/schemas.js";
import { openSqliteStore } from "../sqlite/sqlite-store.js";
import type { Store } from "../store.js";

export interface OpenedBackend {
  readonly store: Store;
  /** Another store on the same data: another pool (a replica) on PostgreSQL, the same store on SQLite. */
  readonly another: () => Promise<Store>;
  /** Closes every store opened and removes the data. */
  readonly cleanup: () => Promise<void>;
}

/** `[name, available, open]` for each backend; `pgUp` comes from `postgresStoreUp()` (which fails in CI when down). */
export function storeBackends(
  label: string,
  pgUp: boolean,
): readonly (readonly [string, boolean, () => Promise<OpenedBackend>])[] {
  return [
    [
      "sqlite",
      true,
      async () => {
        const dir = mkdtempSync(join(tmpdir(), `ephemera-${label}-`));
        const store = await openSqliteStore(join(dir, "s.db"));
        return {
          store,
          another: async () => store,
          cleanup: async () => {
            await store.close();
            rmSync(dir, { recursive: true, force: true });
          },
        };
      },
    ],
    [
      "postgres",
      pgUp,
      async () => {
        const schema = testSchema(`eph_${label.replaceAll("-", "_")}`);
        const store = await openPostgresStore(schema.options);
        const others: Store[] = [];
        return {
          store,
          another: async () => {
            const other = await openPostgresStore(schema.options);
            others.push(other);
            return other;
          },
          cleanup: async () => {
            for (const s of [store, ...others]) await s.close();
            await schema.drop();
          },
        };
      },
    ],
  ];
}
