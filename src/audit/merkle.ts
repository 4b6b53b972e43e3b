// RFC 6962 (Certificate Transparency) Merkle tree hash over a range of audit events: a checkpoint signs one root for
// the range, and anyone holding the events recomputes it.
import { createHash } from "node:crypto";

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

/** SHA-256(0x00 || data): the hash of one leaf. Here a leaf is an event's chain hash, as 32 raw bytes. */
export function leafHash(eventHash: string): Buffer {
  return createHash("sha256").update(LEAF).update(Buffer.from(eventHash, "hex")).digest();
}

function nodeHash(left: Buffer, right: Buffer): Buffer {
  return createHash("sha256").update(NODE).update(left).update(right).digest();
}

/**
 * MTH(D[n]) of RFC 6962 §2.1: SHA-256() for no leaves, the leaf hash for one, else the node hash of the tree over the
 * first k leaves (k the largest power of two below n) and the tree over the rest. Hex.
 */
export function merkleRoot(eventHashes: readonly string[]): string {
  return merkleRootOfLeaves(eventHashes.map(leafHash));
}

/** The same root from leaf hashes already made (`leafHash`), so a caller can hash the leaves a page at a time. */
export function merkleRootOfLeaves(leaves: readonly Buffer[]): string {
  if (leaves.length === 0) return createHash("sha256").digest("hex");
  return subtree(leaves, 0, leaves.length).toString("hex");
}

function subtree(leaves: readonly Buffer[], from: number, to: number): Buffer {
  const n = to - from;
  if (n === 1) return leaves[from]!;
  let k = 1;
  while (k * 2 < n) k *= 2;
  return nodeHash(subtree(leaves, from, from + k), subtree(leaves, from + k, to));
}
