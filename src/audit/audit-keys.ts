// The audit's own keys, generated on first start and kept in the store like the token signing keys: the checkpoint
// signing key (Ed25519, private half sealed) and the HMAC key for values auditors match but the log must not hold.
import { createPrivateKey, generateKeyPairSync, type KeyObject, randomBytes } from "node:crypto";
import type { Millis } from "../domain/index.js";
import { type ChangeSet, ConflictError, StateNamespace, type StatePort, type StateReader } from "../storage/index.js";
import type { Sealer } from "../support/index.js";
import { type CheckpointPublicJwk, keyIdOf } from "./checkpoint.js";
import { systemEvent } from "./system-event.js";

/** Connector-state namespace of the audit keys. */
const AUDIT_KEY_NAMESPACE = "audit.keys";

export interface CheckpointKey {
  readonly keyId: string;
  readonly publicJwk: CheckpointPublicJwk;
  readonly privateKey: KeyObject;
}

interface StoredCheckpointKey {
  readonly keyId: string;
  readonly publicJwk: CheckpointPublicJwk;
  readonly sealedPrivateKey: string;
  readonly createdAt: Millis;
}

interface StoredHmacKey {
  readonly sealedKey: string;
  readonly createdAt: Millis;
}

/** The audit keys by name (`checkpoint`, `hmac`). What is read back is checked before use: a damaged key is refused. */
const auditKeys = new StateNamespace<StoredCheckpointKey | StoredHmacKey>(AUDIT_KEY_NAMESPACE);

const checkpointContext = (keyId: string) => `audit-checkpoint-key:${keyId}`;
const HMAC_CONTEXT = "audit-hmac-key";

/**
 * Creates `key` once: replicas starting together race on a compare-and-set from "absent", one wins and every other
 * reads the winner's. The creation is audited in the same commit.
 */
async function createOnce(
  store: StatePort,
  key: string,
  value: StoredCheckpointKey | StoredHmacKey,
  audit: ChangeSet["audit"],
): Promise<unknown> {
  try {
    await store.apply({ writes: [auditKeys.replace(key, value, null)], audit });
    return value;
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    const stored = await auditKeys.in(store).get(key);
    if (!stored) throw error;
    return stored.value;
  }
}

/** The checkpoint signing key: read and unsealed, or made, sealed and stored on first start. */
export async function loadCheckpointKey(store: StatePort, sealer: Sealer, now: Millis): Promise<CheckpointKey> {
  let value: unknown = (await auditKeys.in(store).get("checkpoint"))?.value;
  if (value === undefined) {
    const pair = generateKeyPairSync("ed25519");
    const jwk = pair.privateKey.export({ format: "jwk" });
    const publicJwk: CheckpointPublicJwk = { kty: "OKP", crv: "Ed25519", x: String(jwk.x) };
    const keyId = keyIdOf(publicJwk);
    const record: StoredCheckpointKey = {
      keyId,
      publicJwk,
      sealedPrivateKey: sealer.seal(JSON.stringify(jwk), checkpointContext(keyId)),
      createdAt: now,
    };
    value = await createOnce(store, "checkpoint", record, [
      systemEvent("audit.checkpoint_key_created", now, "audit", { keyId, publicKey: publicJwk }),
    ]);
  }
  const record = value as Partial<StoredCheckpointKey>;
  if (typeof record.keyId !== "string" || typeof record.sealedPrivateKey !== "string" || !record.publicJwk) {
    throw new Error(`${AUDIT_KEY_NAMESPACE}/checkpoint: stored key is damaged`);
  }
  const publicJwk: CheckpointPublicJwk = { kty: "OKP", crv: "Ed25519", x: String(record.publicJwk.x) };
  if (keyIdOf(publicJwk) !== record.keyId) throw new Error(`${AUDIT_KEY_NAMESPACE}/checkpoint: keyId does not match`);
  const privateJwk = JSON.parse(sealer.open(record.sealedPrivateKey, checkpointContext(record.keyId))) as {
    d: string;
  };
  const privateKey = createPrivateKey({
    key: { kty: "OKP", crv: "Ed25519", x: publicJwk.x, d: privateJwk.d },
    format: "jwk",
  });
  return { keyId: record.keyId, publicJwk, privateKey };
}

/** The HMAC key for sensitive audit values: 32 random bytes, sealed in the store, made on first start. */
export async function loadHmacKey(store: StatePort, sealer: Sealer, now: Millis): Promise<Buffer> {
  let value: unknown = (await auditKeys.in(store).get("hmac"))?.value;
  if (value === undefined) {
    const record: StoredHmacKey = {
      sealedKey: sealer.seal(randomBytes(32).toString("base64"), HMAC_CONTEXT),
      createdAt: now,
    };
    value = await createOnce(store, "hmac", record, [systemEvent("audit.hmac_key_created", now, "audit", {})]);
  }
  const sealed = (value as { sealedKey?: unknown }).sealedKey;
  if (typeof sealed !== "string") throw new Error(`${AUDIT_KEY_NAMESPACE}/hmac: stored key is damaged`);
  return Buffer.from(sealer.open(sealed, HMAC_CONTEXT), "base64");
}

/**
 * The checkpoint public key's `x` as the store holds it, unchecked, or null when it holds none: for verifying a store
 * offline without a pinned key (`ephemera audit verify --unpinned`).
 */
export async function storedCheckpointKeyX(store: StateReader): Promise<string | null> {
  const stored = (await auditKeys.in(store).get("checkpoint"))?.value as { publicJwk?: { x?: unknown } } | undefined;
  return typeof stored?.publicJwk?.x === "string" ? stored.publicJwk.x : null;
}
