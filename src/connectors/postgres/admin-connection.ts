// The broker's admin connection to one PostgreSQL server: a small lazy pool logged in with the current admin secret,
// bounded calls, login probes with an issued credential, and the crash-safe rotation of the admin password.

import type { ClientBase, ClientConfig, PoolClient, QueryResult, QueryResultRow } from "pg";
import { Client, escapeIdentifier, escapeLiteral, Pool } from "pg";
import type { Logger } from "../../support/index.js";
import { describeError } from "../../support/index.js";
import type { RotateResponse } from "../connector.js";
import type { AdminSecret, RotationSteps } from "../support/admin-secret.js";
import type { LoginOutcome } from "../support/evidence.js";
import { scramVerifier } from "./scram.js";
import type { PgConnectionSettings } from "./settings.js";

/** A connect that does not finish in this time fails: a call must never hang on a dead target. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** Server-side bound of one statement (advisory-lock waits included). */
export const STATEMENT_TIMEOUT_MS = 10_000;

/** The PostgreSQL error code of a server-side error, or null for a network or client-side failure. */
export function sqlStateOf(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

export interface AdminRole {
  readonly oid: number;
  readonly superuser: boolean;
}

export class PgAdmin {
  readonly #targetId: string;
  readonly #settings: PgConnectionSettings;
  readonly #secret: AdminSecret;
  readonly #logger: Logger;
  #pool: Pool | null = null;
  #settled: Promise<void> | null = null;
  #role: Promise<AdminRole> | null = null;

  constructor(options: { targetId: string; settings: PgConnectionSettings; secret: AdminSecret; logger: Logger }) {
    this.#targetId = options.targetId;
    this.#settings = options.settings;
    this.#secret = options.secret;
    this.#logger = options.logger;
  }

  get endpoint() {
    return this.#settings.endpoint;
  }

  get scramIterations(): number {
    return this.#settings.scramIterations;
  }

  #clientConfig(): ClientConfig {
    const { host, port, database, user, ssl } = this.#settings.endpoint;
    return {
      host,
      port,
      database,
      user,
      ssl: ssl ? { rejectUnauthorized: true } : false,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      query_timeout: STATEMENT_TIMEOUT_MS + 2_000,
      idle_in_transaction_session_timeout: STATEMENT_TIMEOUT_MS * 2,
      application_name: "ephemera",
      keepAlive: true,
    };
  }

  /** A one-off client (not pooled); its socket errors are swallowed so an outage cannot crash the process. */
  client(overrides: { user?: string; password: string; database?: string }): Client {
    const client = new Client({ ...this.#clientConfig(), ...overrides });
    client.on("error", () => {});
    return client;
  }

  async #pooled(): Promise<Pool> {
    // A rotation a crash interrupted is finished (or abandoned) before the first login, so the pool uses a secret that works.
    this.#settled ??= this.#secret
      .settle(this.rotationSteps())
      .then(() => undefined)
      .catch((error: unknown) => {
        this.#settled = null;
        throw error;
      });
    await this.#settled;
    if (!this.#pool) {
      const pool = new Pool({
        ...this.#clientConfig(),
        max: this.#settings.maxConnections,
        idleTimeoutMillis: 10_000,
        // Revealed only here, at the driver call, for each new connection.
        password: async () => (await this.#secret.current()).reveal(),
      });
      pool.on("error", (error) => {
        this.#logger.warn({ target: this.#targetId, err: describeError(error) }, "postgres admin connection dropped");
      });
      this.#pool = pool;
    }
    return this.#pool;
  }

  async query<R extends QueryResultRow = QueryResultRow>(
    text: string,
    values?: readonly unknown[],
  ): Promise<QueryResult<R>> {
    const pool = await this.#pooled();
    return pool.query<R>(text, values as unknown[] | undefined);
  }

  /** Several statements in one round trip and one implicit transaction (simple protocol: no bind parameters). */
  async script(text: string): Promise<QueryResult[]> {
    const pool = await this.#pooled();
    const result: unknown = await pool.query(text);
    return Array.isArray(result) ? (result as QueryResult[]) : [result as QueryResult];
  }

  /**
   * A pooled client for `work`. While checked out a client has no pool listener, and a connection that dies then
   * emits `error` on it: without a listener here an outage would crash the process instead of failing the call.
   */
  async #checkedOut<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await (await this.#pooled()).connect();
    let failure: Error | undefined;
    const onError = (error: Error) => {
      failure = error;
    };
    client.on("error", onError);
    try {
      return await work(client);
    } catch (error) {
      failure ??= error instanceof Error && sqlStateOf(error) === null ? error : undefined;
      throw error;
    } finally {
      client.off("error", onError);
      // A client whose connection failed is destroyed rather than handed to the next caller.
      client.release(failure);
    }
  }

  async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.#checkedOut(async (client) => {
      await client.query("BEGIN");
      try {
        const result = await work(client);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      }
    });
  }

  /** Runs `work` on a connection to `database`: the pool for the configured one, a one-off client for any other. */
  async inDatabase<T>(database: string, work: (client: ClientBase) => Promise<T>): Promise<T> {
    if (database === this.#settings.endpoint.database) return this.#checkedOut(work);
    const client = this.client({ password: (await this.#secret.current()).reveal(), database });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** The admin login's oid and whether it is a superuser (cached per pool). */
  adminRole(): Promise<AdminRole> {
    this.#role ??= this.query<{ oid: string; rolsuper: boolean }>(
      "SELECT oid::int8 AS oid, rolsuper FROM pg_roles WHERE rolname = current_user",
    ).then(
      (result) => {
        const row = result.rows[0];
        if (!row) throw new Error(`targets.${this.#targetId}: the admin login is not in pg_roles`);
        return { oid: Number(row.oid), superuser: row.rolsuper };
      },
      (error: unknown) => {
        this.#role = null;
        throw error;
      },
    );
    return this.#role;
  }

  /** A real network login as `user` with `password`, for the `login.refused` check. Never carries the secret out. */
  async tryLogin(user: string, password: string): Promise<LoginOutcome> {
    const client = this.client({ user, password });
    try {
      await client.connect();
    } catch (error) {
      // The server ends a refused login itself: the answer is in, so the socket's close is not waited for (it took
      // about as long as a third of the login attempt).
      void client.end().catch(() => {});
      const code = sqlStateOf(error);
      // A refusal of this role: a wrong password (28P01), or 28000 naming the role as missing or not permitted to
      // log in. Other class-28 answers (no pg_hba.conf entry, SSL required) and anything else (CONNECT privilege, too
      // many connections, shutting down) say nothing about the credential.
      const message = error instanceof Error ? error.message : "";
      if (code === "28P01" || (code === "28000" && /does not exist|not permitted to log in/.test(message))) {
        return { accepted: false, refusal: `${code} ${(error as Error).message}`.slice(0, 200) };
      }
      return { accepted: null, error: describeError(error) };
    }
    await client.end().catch(() => {});
    return { accepted: true };
  }

  rotationSteps(): RotationSteps {
    const { user } = this.#settings.endpoint;
    return {
      works: async (secret) => {
        const client = this.client({ password: secret });
        try {
          await client.connect();
          await client.query("SELECT 1");
          return true;
        } catch {
          return false;
        } finally {
          await client.end().catch(() => {});
        }
      },
      apply: async (next, current) => {
        // ALTER ROLE takes no bind parameter for the password: it gets a verifier computed here, as a literal of
        // base64 and `$:` only, so neither the new password nor user text ever reaches the statement.
        const verifier = await scramVerifier(next, this.#settings.scramIterations);
        const client = this.client({ password: current });
        try {
          await client.connect();
          await client.query(`ALTER ROLE ${escapeIdentifier(user)} PASSWORD ${escapeLiteral(verifier)}`);
        } catch (error) {
          throw new Error(
            `targets.${this.#targetId}: ALTER ROLE … PASSWORD failed (${sqlStateOf(error) ?? "connection"})`,
          );
        } finally {
          await client.end().catch(() => {});
        }
      },
    };
  }

  async rotate(): Promise<RotateResponse> {
    const { rotatedAt } = await this.#secret.rotate(this.rotationSteps());
    await this.#resetPool();
    const { user } = this.#settings.endpoint;
    return {
      rotated: true,
      detail:
        `password of PostgreSQL role ${user} replaced by a new random one at ${new Date(rotatedAt).toISOString()} ` +
        "(SCRAM-SHA-256 verifier computed by the broker); a login with it succeeded before it was made current; " +
        "the connection pool was rebuilt",
    };
  }

  async healthy(): Promise<boolean> {
    try {
      await this.query("SELECT 1");
      return true;
    } catch {
      return false;
    }
  }

  async #resetPool(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    this.#role = null;
    if (pool) await pool.end().catch(() => {});
  }

  async close(): Promise<void> {
    await this.#resetPool();
  }
}

export { escapeIdentifier, escapeLiteral };
