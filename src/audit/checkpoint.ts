// A signed checkpoint: the broker's Ed25519 signature over the chain head, the RFC 6962 root of the events since the
// previous checkpoint, and the link to that checkpoint. Kept outside the store, it is what makes a rewritten,
// truncated or wholly replaced audit log detectable.
import { createHash, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { canonicalJson } from "../domain/index.js";

/** What is signed. Field names are part of the format: auditors' tools read them. */
export interface CheckpointBody {
  readonly version: 1;
  /** The last event covered: the chain head when the checkpoint was made. */
  readonly seq: number;
  /** That event's chain hash. */
  readonly headHash: string;
  /** The first event of the range: the previous checkpoint's seq + 1 (1 for the first checkpoint). */
  readonly fromSeq: number;
  /** RFC 6962 Merkle tree hash over the chain hashes of events fromSeq..seq, in order. */
  readonly merkleRoot: string;
  /** SHA-256 of the previous checkpoint's signed text (`checkpointDigest`), null for the first one. */
  readonly prevCheckpoint: string | null;
  /** When it was made, ISO 8601. */
  readonly time: string;
  /** RFC 7638 thumbprint of the Ed25519 public key that signed it. */
  readonly keyId: string;
}

export interface SignedCheckpoint extends CheckpointBody {
  readonly alg: "Ed25519";
  /** base64url Ed25519 signature over `signedText(body)`. */
  readonly signature: string;
}

/** The public key as a JWK, exactly the members needed. */
export interface CheckpointPublicJwk {
  readonly kty: "OKP";
  readonly crv: "Ed25519";
  readonly x: string;
}

const DOMAIN = "ephemera-audit-checkpoint-v1\n";

/** The bytes signed: a domain prefix (a checkpoint signature can never be passed off as anything else) and canonical JSON. */
export function signedText(body: CheckpointBody): string {
  const { version, seq, headHash, fromSeq, merkleRoot, prevCheckpoint, time, keyId } = body;
  return DOMAIN + canonicalJson({ version, seq, headHash, fromSeq, merkleRoot, prevCheckpoint, time, keyId });
}

/** What the next checkpoint names as `prevCheckpoint`. */
export function checkpointDigest(body: CheckpointBody): string {
  return createHash("sha256").update(signedText(body)).digest("hex");
}

export function signCheckpoint(body: CheckpointBody, privateKey: KeyObject): SignedCheckpoint {
  const signature = sign(null, Buffer.from(signedText(body)), privateKey).toString("base64url");
  return { ...body, alg: "Ed25519", signature };
}

/** RFC 7638 thumbprint (SHA-256, base64url) of an Ed25519 JWK. */
export function keyIdOf(jwk: CheckpointPublicJwk): string {
  return createHash("sha256").update(`{"crv":"Ed25519","kty":"OKP","x":"${jwk.x}"}`).digest("base64url");
}

/**
 * A pinned key as an auditor may write it: a JWK (JSON), `ed25519:<x>` or the bare base64url `x`, or a PEM public key.
 * Throws a message naming what was wrong.
 */
export function parsePublicKey(text: string): CheckpointPublicJwk {
  const trimmed = text.trim();
  let x: unknown;
  if (trimmed.startsWith("{")) {
    let jwk: Record<string, unknown>;
    try {
      jwk = JSON.parse(trimmed) as Record<string, unknown>;
    } catch {
      throw new Error("the key is not valid JSON");
    }
    const inner = (jwk.jwk ?? jwk) as Record<string, unknown>;
    if (inner.kty !== "OKP" || inner.crv !== "Ed25519") throw new Error("the key is not an Ed25519 (OKP) JWK");
    if ("d" in inner) throw new Error("the key holds a private part: pin the public key only");
    x = inner.x;
  } else if (trimmed.startsWith("-----BEGIN PUBLIC KEY-----")) {
    const jwk = createPublicKey(trimmed).export({ format: "jwk" });
    if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519") throw new Error("the PEM key is not an Ed25519 key");
    x = jwk.x;
  } else {
    x = trimmed.replace(/^ed25519:/, "");
  }
  if (typeof x !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(x)) {
    throw new Error(
      "the key must be an Ed25519 public key: a JWK, a PEM, or its 32 bytes as base64url (43 characters)",
    );
  }
  return { kty: "OKP", crv: "Ed25519", x };
}

/** Reads a checkpoint as stored (a file, a webhook body), refusing anything that is not exactly one. */
export function parseCheckpoint(value: unknown, where: string): SignedCheckpoint {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${where}: not a checkpoint object`);
  }
  const c = value as Record<string, unknown>;
  const isHex = (v: unknown) => typeof v === "string" && /^[0-9a-f]{64}$/.test(v);
  const isSeq = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  const problems: string[] = [];
  if (c.version !== 1) problems.push("version must be 1");
  if (!isSeq(c.seq) || !isSeq(c.fromSeq)) problems.push("seq and fromSeq must be sequence numbers");
  if (!isHex(c.headHash) || !isHex(c.merkleRoot)) problems.push("headHash and merkleRoot must be SHA-256 hex");
  if (c.prevCheckpoint !== null && !isHex(c.prevCheckpoint))
    problems.push("prevCheckpoint must be SHA-256 hex or null");
  if (typeof c.time !== "string" || Number.isNaN(Date.parse(c.time))) problems.push("time must be an ISO time");
  if (typeof c.keyId !== "string") problems.push("keyId must be a string");
  if (c.alg !== "Ed25519") problems.push("alg must be Ed25519");
  if (typeof c.signature !== "string") problems.push("signature must be a string");
  if (problems.length > 0) throw new Error(`${where}: ${problems.join("; ")}`);
  return c as unknown as SignedCheckpoint;
}

/** True when `checkpoint` carries a valid signature by `key` and names that key. */
export function checkpointSignatureValid(checkpoint: SignedCheckpoint, key: CheckpointPublicJwk): boolean {
  if (checkpoint.keyId !== keyIdOf(key)) return false;
  try {
    const publicKey = createPublicKey({ key: { ...key }, format: "jwk" });
    return verify(null, Buffer.from(signedText(checkpoint)), publicKey, Buffer.from(checkpoint.signature, "base64url"));
  } catch {
    return false;
  }
}

/** One checkpoint per file, named by its seq so a directory listing sorts in chain order. */
export function checkpointFileName(seq: number): string {
  return `${String(seq).padStart(12, "0")}.json`;
}
