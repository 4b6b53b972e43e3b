// First-start conveniences: the master key file and the demo API keys written to an env file, reused on every restart.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Config } from "../config/index.js";
import { type ApiKeyEntry, generateApiKey, hashApiKey, parseApiKey } from "../identity/index.js";
import { draft, systemActor } from "../lifecycle/index.js";
import type { Store } from "../storage/index.js";
import type { Clock } from "../support/index.js";

/** The master key seals secrets at rest. From EPHEMERA_MASTER_KEY (base64), else a 0600 file created on first start. */
export function loadMasterKey(config: Config): Buffer {
  const fromEnv = config.secrets.masterKeyFromEnv;
  if (fromEnv !== null) return decodeMasterKey(fromEnv, "EPHEMERA_MASTER_KEY");
  const file = config.secrets.masterKeyFile;
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  }
  return decodeMasterKey(readFileSync(file, "utf8").trim(), `secrets.masterKeyFile (${file})`);
}

function decodeMasterKey(text: string, where: string): Buffer {
  const key = Buffer.from(text, "base64");
  if (key.length !== 32) throw new Error(`${where}: must be 32 random bytes, base64-encoded`);
  return key;
}

function readEnvFile(path: string): Map<string, string> {
  const values = new Map<string, string>();
  if (!existsSync(path)) return values;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) values.set(match[1]!, match[2]!);
  }
  return values;
}

/**
 * Makes sure the bootstrap identities have API keys the env file holds: keys already stored are reused, missing ones
 * are created (their hashes stored, the keys written only to the 0600 env file). Returns the keys to accept.
 */
export async function ensureBootstrapKeys(
  config: Config,
  store: Store,
  clock: Clock,
): Promise<{ entries: ApiKeyEntry[]; env: Map<string, string> } | null> {
  const bootstrap = config.bootstrap;
  if (!bootstrap) return null;
  const env = readEnvFile(bootstrap.envFile);
  const wanted: [string, string][] = [["EPHEMERA_TOKEN", bootstrap.identity]];
  if (bootstrap.admin) wanted.push(["EPHEMERA_ADMIN_TOKEN", bootstrap.admin]);
  if (bootstrap.approver) wanted.push(["EPHEMERA_APPROVER_TOKEN", bootstrap.approver]);
  const entries: ApiKeyEntry[] = [];
  let changed = env.get("EPHEMERA_URL") !== config.server.publicUrl;
  env.set("EPHEMERA_URL", config.server.publicUrl);
  for (const [variable, identityId] of wanted) {
    const existing = env.get(variable);
    const parsed = existing ? parseApiKey(existing) : null;
    const record = parsed ? await store.findApiKey(parsed.keyId) : null;
    if (
      existing &&
      record &&
      record.identityId === identityId &&
      record.hash === hashApiKey(existing) &&
      !record.revokedAt
    ) {
      entries.push({ keyId: record.keyId, identityId, hash: record.hash });
      continue;
    }
    const key = generateApiKey();
    const now = clock.now();
    await store.putApiKey({ keyId: key.keyId, identityId, hash: key.hash, createdAt: now, revokedAt: null });
    await store.apply({
      writes: [],
      audit: [draft("broker.api_key_created", now, systemActor("bootstrap"), { identityId }, { keyId: key.keyId })],
    });
    entries.push({ keyId: key.keyId, identityId, hash: key.hash });
    env.set(variable, key.key);
    changed = true;
  }
  if (changed) {
    mkdirSync(dirname(bootstrap.envFile), { recursive: true, mode: 0o700 });
    const body = [...env].map(([k, v]) => `${k}=${v}`).join("\n");
    writeFileSync(bootstrap.envFile, `${body}\n`, { mode: 0o600 });
    chmodSync(bootstrap.envFile, 0o600);
  }
  return { entries, env };
}

/**
 * Finds a bootstrap identity's API key in the store: with replicas, each wrote its own env file and key, and a caller
 * holding any of them may reach any replica. Only keys of the configured bootstrap identities, never revoked ones.
 */
export function bootstrapKeyLookup(config: Config, store: Store): (keyId: string) => Promise<ApiKeyEntry | null> {
  const { identity, admin, approver } = config.bootstrap ?? {};
  const identities = new Set([identity, admin, approver].filter((id) => id != null));
  return async (keyId) => {
    const record = await store.findApiKey(keyId);
    if (!record || record.revokedAt !== null || !identities.has(record.identityId)) return null;
    return { keyId: record.keyId, identityId: record.identityId, hash: record.hash };
  };
}
