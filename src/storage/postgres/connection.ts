// The PostgreSQL store's connection pool: bounded waits everywhere, BIGINT read as numbers, one schema on the path.
import { Pool, type PoolClient, type PoolConfig, types } from "pg";
import { describeError } from "../../support/index.js";
import { StoreUnavailableError } from "../store.js";
import { SCHEMA_NAME } from "./sql.js";

export interface PostgresStoreOptions {
  /** `postgres://user@host:port/database`; a password here works but belongs in `password`. */
  readonly url: string;
  /** The login's password, when not in the URL (from an environment variable or a file, never inline). */
  readonly password?: string | undefined;
  /** Schema holding the broker's tables; created when missing. Default `public`. */
  readonly schema?: string | undefined;
  /** Connections per broker process. Default 10. */
  readonly poolSize?: number | undefined;
  /** Most change sets committed in one transaction. Default 256. */
  readonly maxBatch?: number | undefined;
  /**
   * Batches of change sets committing at once, each on its own pooled connection: their writes overlap and only the
   * audit chain's tail (head lock to COMMIT) takes turns. Default 4; at most `poolSize`.
   */
  readonly batchesInFlight?: number | undefined;
  /** A connection attempt that takes longer fails. Default 5000 ms. */
  readonly connectTimeoutMs?: number | undefined;
  /** Server-side bound on one statement, and on how long a session may sit idle inside a transaction. Default 15000 ms. */
  readonly statementTimeoutMs?: number | undefined;
}

// Epoch milliseconds and sequence numbers are BIGINT, which pg returns as strings by default. This store alone reads
// them as numbers (all are far below 2^53); the connectors' own pools keep pg's defaults.
const INT8_OID = 20;
const typeParsers = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary"
      ? (value: string) => Number(value)
      : types.getTypeParser(oid, format)) as typeof types.getTypeParser,
};

export function checkSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`storage.postgres.schema: '${schema}' must be lower-case letters, digits and _ (at most 63)`);
  }
  return schema;
}

export function createPool(options: PostgresStoreOptions): Pool {
  const schema = checkSchema(options.schema ?? "public");
  const statementTimeout = options.statementTimeoutMs ?? 15_000;
  const config: PoolConfig = {
    connectionString: options.url,
    ...(options.password === undefined ? {} : { password: options.password }),
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    // A partitioned replica must not hold the audit head forever: the server ends a transaction left idle this long.
    idle_in_transaction_session_timeout: statementTimeout,
    statement_timeout: statementTimeout,
    query_timeout: statementTimeout + 2_000,
    keepAlive: true,
    application_name: "ephemera-store",
    options: `-c search_path=${schema}`,
    types: typeParsers,
  };
  const pool = new Pool(config);
  // An idle connection the server or the network drops: the pool discards it; the next query opens a new one.
  pool.on("error", () => {});
  return pool;
}

/**
 * A pooled client for `work`. A connection that dies while checked out emits `error` on the client, which would crash
 * the process without a listener; the failed client is then destroyed rather than handed to the next caller.
 */
export async function withClient<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw unavailable("could not connect to PostgreSQL", error);
  }
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken = error;
  };
  client.on("error", onError);
  try {
    return await work(client);
  } catch (error) {
    if (sqlState(error) === null && error instanceof Error && !(error instanceof TypeError)) broken ??= error;
    throw error;
  } finally {
    client.off("error", onError);
    client.release(broken);
  }
}

/** The SQLSTATE of a server error, or null for a network, timeout or client-side failure. */
export function sqlState(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

export function unavailable(what: string, cause: unknown): StoreUnavailableError {
  return new StoreUnavailableError(`${what}: ${describeError(cause)}`, { cause });
}
