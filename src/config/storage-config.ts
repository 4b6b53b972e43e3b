// The `storage` and `secrets` sections: the SQLite file or shared PostgreSQL store, and the master key that seals secrets in it.
import { DEFAULTS } from "./defaults.js";
import type { ConfigReader } from "./reader.js";
import type { RawConfig } from "./schema.js";

export interface StorageConfig {
  readonly sqlitePath: string;
  /** Set when the broker runs on a shared PostgreSQL store (several replicas); SQLite is not used then. */
  readonly postgres: PostgresStorageConfig | null;
}

export interface PostgresStorageConfig {
  readonly url: string;
  /** Resolved from `{ env }` or `{ file }`; null when the URL (or trust, or a .pgpass) carries the login. */
  readonly password: string | null;
  readonly schema: string;
  readonly poolSize: number;
}

export interface SecretsConfig {
  readonly masterKeyFile: string;
  readonly masterKeyFromEnv: string | null;
}

/** One store: the SQLite file (under dataDir unless named) or, when named, a shared PostgreSQL. */
export function storageConfig(storage: RawConfig["storage"], dataDir: string, r: ConfigReader): StorageConfig {
  return { sqlitePath: r.path(storage?.sqlite ?? `${dataDir}/ephemera.db`), postgres: postgresStorage(storage, r) };
}

/** The shared PostgreSQL store, or null for SQLite; its password only by reference, never written in the file. */
function postgresStorage(storage: RawConfig["storage"], r: ConfigReader): PostgresStorageConfig | null {
  const spec = storage?.postgres;
  if (spec === undefined) return null;
  if (storage?.sqlite !== undefined) {
    r.problems.push("storage: name one store, sqlite or postgres, not both");
  }
  const { url, password, schema, poolSize } = typeof spec === "string" ? { url: spec } : spec;
  let resolved: string | null = null;
  if (password !== undefined) {
    const value = typeof password === "object" ? r.secretRef(password, "storage.postgres.password") : null;
    if (typeof value === "string") resolved = value;
    else
      r.problems.push("storage.postgres.password: must be { env: NAME } or { file: PATH }, never the password itself");
  }
  return {
    url,
    password: resolved,
    schema: schema ?? DEFAULTS.storage.postgres.schema,
    poolSize: poolSize ?? DEFAULTS.storage.postgres.poolSize,
  };
}

/** The master key's file (under dataDir unless named); EPHEMERA_MASTER_KEY overrides it. */
export function secretsConfig(secrets: RawConfig["secrets"], dataDir: string, r: ConfigReader): SecretsConfig {
  return {
    masterKeyFile: r.path(secrets?.masterKeyFile ?? `${dataDir}/master.key`),
    masterKeyFromEnv: r.env.EPHEMERA_MASTER_KEY ?? null,
  };
}
