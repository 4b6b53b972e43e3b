// The broker's admin connection to one MariaDB target: a small pool opened on first use with the current admin secret,
// every statement bounded by a timeout, driver errors rethrown without statement text, and crash-safe rotation steps.
import { createPool, type Pool } from "mysql2/promise";
import { type Secret, sameSecret } from "../../support/index.js";
import type { AdminSecret, RotationSteps } from "../support/admin-secret.js";
import { attemptLogin, closeLogin, type Endpoint, openLogin } from "./login.js";
import type { MariadbTargetSettings } from "./settings.js";
import { ER_ACCESS_DENIED_ERROR, errnoOf, nativePasswordHash, statementError } from "./sql.js";

export interface RunOptions {
  /** Bound parameters (`?`). */
  readonly values?: readonly (string | number)[];
  /** True when the statement text carries a password hash: errors then name the code only. */
  readonly carriesSecret?: boolean;
  /** Server error numbers that mean "nothing to do" here; the call resolves null for them. */
  readonly ignore?: readonly number[];
}

export class AdminConnection {
  readonly endpoint: Endpoint;
  #pool: Promise<Pool> | null = null;
  /** The secret the pool logs in with: mysql2 takes a fixed password, so a rotation elsewhere means a new pool. */
  #poolSecret: Secret<string> | null = null;
  #closed = false;

  constructor(
    readonly targetId: string,
    private readonly settings: MariadbTargetSettings,
    private readonly secret: AdminSecret,
  ) {
    this.endpoint = { host: settings.host, port: settings.port, connectTimeoutMs: settings.connectTimeoutMs };
  }

  /** The steps AdminSecret drives: a fresh login checks a secret; `SET PASSWORD` on the admin's own account sets one. */
  readonly rotationSteps: RotationSteps = {
    works: async (secret) => {
      const outcome = await attemptLogin(this.endpoint, this.settings.user, secret);
      if (outcome.accepted === null) {
        throw new Error(`targets.${this.targetId}: the admin login could not be tried (${outcome.error})`);
      }
      return outcome.accepted;
    },
    apply: async (next, current) => {
      // `ALTER USER CURRENT_USER() IDENTIFIED BY …` answers OK and changes nothing on 10.11 (measured), and ALTER USER
      // needs CREATE USER; `SET PASSWORD` changes the logged-in account's own password and needs no privilege.
      const connection = await openLogin(this.endpoint, this.settings.user, current).catch((error: unknown) => {
        throw statementError(this.targetId, "admin login for rotation", error, true);
      });
      try {
        await connection.query({
          sql: `SET PASSWORD = '${nativePasswordHash(next)}'`,
          timeout: this.settings.statementTimeoutMs,
        });
      } catch (error) {
        throw statementError(this.targetId, "SET PASSWORD", error, true);
      } finally {
        await closeLogin(connection);
      }
    },
  };

  /** Runs one statement on the pool; resolves the rows (or the OK packet) as `T`. */
  async run<T>(step: string, sql: string, options: RunOptions = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const pool = await this.#open();
      try {
        const values = options.values ? [...options.values] : [];
        const [result] = await pool.query({ sql, values, timeout: this.settings.statementTimeoutMs });
        return result as T;
      } catch (error) {
        const errno = errnoOf(error);
        if (errno !== undefined && options.ignore?.includes(errno)) return null as T;
        // Another broker replica rotated the admin password: the connections this pool opens now are refused.
        // Rebuild it with the secret the store holds now and try once more.
        if (errno === ER_ACCESS_DENIED_ERROR && attempt === 1 && (await this.#rotatedElsewhere())) {
          await this.rebuild();
          continue;
        }
        throw statementError(this.targetId, step, error, options.carriesSecret ?? false);
      }
    }
  }

  async #rotatedElsewhere(): Promise<boolean> {
    const used = this.#poolSecret;
    if (used === null) return false;
    const stored = await this.secret.current().catch(() => null);
    return stored !== null && !sameSecret(stored.reveal(), used.reveal());
  }

  /** Ends the pool so the next statement logs in again with the secret AdminSecret holds now (after a rotation). */
  async rebuild(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    if (pool) await (await pool.catch(() => null))?.end().catch(() => {});
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.rebuild();
  }

  #open(): Promise<Pool> {
    if (this.#closed) return Promise.reject(new Error(`targets.${this.targetId}: the connector is closed`));
    if (!this.#pool) {
      const opening = this.#createPool();
      this.#pool = opening;
      // A failed open (target down while a rotation is being settled) is retried by the next call.
      opening.catch(() => {
        if (this.#pool === opening) this.#pool = null;
      });
    }
    return this.#pool;
  }

  async #createPool(): Promise<Pool> {
    // settle() finishes a rotation a crash interrupted before the broker logs in, else it returns the current secret.
    const secret = await this.secret.settle(this.rotationSteps);
    this.#poolSecret = secret;
    const pool = createPool({
      host: this.settings.host,
      port: this.settings.port,
      user: this.settings.user,
      password: secret.reveal(),
      ...(this.settings.database === undefined ? {} : { database: this.settings.database }),
      connectionLimit: this.settings.poolSize,
      maxIdle: this.settings.poolSize,
      idleTimeout: 60_000,
      connectTimeout: this.settings.connectTimeoutMs,
      enableKeepAlive: true,
      charset: "utf8mb4",
    });
    // An idle connection the server or the network drops is removed by the pool; the event must have a listener.
    pool.on("connection", (connection) => connection.on("error", () => {}));
    return pool;
  }
}
