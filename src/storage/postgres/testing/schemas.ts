// A schema of its own for each store test on the real PostgreSQL at 127.0.0.1:5432 (database `test`), dropped after.
import { Client } from "pg";
import { requireService } from "../../../connectors/testing/services.js";
import { randomToken } from "../../../support/ids.js";
import type { PostgresStoreOptions } from "../connection.js";

export const STORE_TEST_URL = "postgres://postgres@127.0.0.1:5432/test";

/** Gate for a test file: true when the server answers; in CI a missing server fails the file. */
export function postgresStoreUp(): Promise<boolean> {
  return requireService("postgres on 127.0.0.1:5432", async () => {
    const client = adminClient();
    await client.connect();
    try {
      await client.query("SELECT 1");
    } finally {
      await client.end();
    }
  });
}

function adminClient(): Client {
  const client = new Client({ connectionString: STORE_TEST_URL, connectionTimeoutMillis: 5_000 });
  client.on("error", () => {});
  return client;
}

/** Runs statements as the superuser on a one-off connection. */
export async function asSuperuser<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = adminClient();
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export interface TestSchema {
  readonly schema: string;
  readonly options: PostgresStoreOptions;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/** A unique, not yet existing schema name (the store creates it) and how to drop it. */
export function testSchema(prefix = "eph_store"): TestSchema {
  const schema = `${prefix}_${randomToken(10)}`;
  return {
    schema,
    options: { url: STORE_TEST_URL, schema, poolSize: 4 },
    drop: () => asSuperuser(async (c) => void (await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`))),
  };
}
