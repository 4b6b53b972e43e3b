// Verifies the audit log against signed checkpoints kept outside the store: every signature, the checkpoints' own
// chain, each range's Merkle root and head, and the hash chain of the events; names the first event not vouched for.
import type { AuditEvent } from "../domain/index.js";
import {
  type CheckpointPublicJwk,
  checkpointDigest,
  checkpointFileName,
  checkpointSignatureValid,
  type SignedCheckpoint,
} from "./checkpoint.js";
import { merkleRoot } from "./merkle.js";
import { type ChainProblem, verifyChain } from "./verify.js";

export type CheckpointProblem =
  | ChainProblem
  /** A checkpoint's signature does not verify with the pinned key (the file was edited, or another key signed it). */
  | "bad_signature"
  /** A checkpoint is missing between two others, or does not name its predecessor: a file was removed or replaced. */
  | "checkpoint_missing"
  /** The events of a checkpoint's range do not hash to its Merkle root or end at its head: they were rewritten. */
  | "merkle_mismatch"
  /** There is no checkpoint at all: nothing outside the store vouches for the log. */
  | "no_checkpoints";

export interface NamedCheckpoint {
  /** Where it was read from (a file name), for messages. */
  readonly name: string;
  readonly checkpoint: SignedCheckpoint;
}

export type CheckpointVerification =
  | {
      readonly ok: true;
      readonly count: number;
      readonly headSeq: number;
      readonly checkpoints: number;
      /** The last event a checkpoint covers; events after it are verified by the hash chain alone. */
      readonly coveredSeq: number;
    }
  | {
      readonly ok: false;
      readonly count: number;
      readonly checkpoints: number;
      /** The lowest seq not vouched for: every event below it verified, against the chain and the checkpoints. */
      readonly firstBadSeq: number;
      readonly problem: CheckpointProblem;
      readonly detail: string;
    };

/**
 * Checks the checkpoints first (signatures with the pinned key, then that each starts where the previous ended and
 * names its digest), then reads the events once: the chain must verify and each checkpoint's range must match its
 * Merkle root and head. The chain must reach the last checkpoint: events removed from the end are detected.
 */
export async function verifyAgainstCheckpoints(
  events: AsyncIterable<AuditEvent> | Iterable<AuditEvent>,
  named: readonly NamedCheckpoint[],
  key: CheckpointPublicJwk,
): Promise<CheckpointVerification> {
  const sorted = [...named].sort((a, b) => a.checkpoint.seq - b.checkpoint.seq);
  const checkpoints = sorted.length;
  const fail = (problem: CheckpointProblem, firstBadSeq: number, detail: string): CheckpointVerification => ({
    ok: false,
    count: Math.max(0, firstBadSeq - 1),
    checkpoints,
    firstBadSeq,
    problem,
    detail,
  });
  if (sorted.length === 0) return fail("no_checkpoints", 1, "no checkpoint to verify against");

  let previous: SignedCheckpoint | null = null;
  for (const { name, checkpoint } of sorted) {
    if (!checkpointSignatureValid(checkpoint, key)) {
      return fail(
        "bad_signature",
        checkpoint.fromSeq,
        `${name}: the signature does not verify with the pinned key (keyId ${checkpoint.keyId})`,
      );
    }
    const expectedFrom = (previous?.seq ?? 0) + 1;
    const expectedPrev = previous ? checkpointDigest(previous) : null;
    if (checkpoint.fromSeq !== expectedFrom || checkpoint.prevCheckpoint !== expectedPrev) {
      return fail(
        "checkpoint_missing",
        expectedFrom,
        `${name}: covers from seq ${checkpoint.fromSeq} but the checkpoint before it ${
          previous ? `ends at seq ${previous.seq}` : "is the genesis"
        }${checkpoint.prevCheckpoint !== expectedPrev ? " and does not name it" : ""}: a checkpoint is missing`,
      );
    }
    if (checkpoint.seq < checkpoint.fromSeq) {
      return fail("checkpoint_missing", checkpoint.fromSeq, `${name}: ends before it starts`);
    }
    // A file renamed over another's name (to hide the one it replaced) is refused too.
    if (/^\d{12}\.json$/.test(name) && name !== checkpointFileName(checkpoint.seq)) {
      return fail("checkpoint_missing", checkpoint.fromSeq, `${name}: holds the checkpoint of seq ${checkpoint.seq}`);
    }
    previous = checkpoint;
  }
  const last = previous!;

  // Read through the chain verifier; at the end of each range, its root and head are compared before going on.
  let rangeProblem: CheckpointVerification | null = null;
  async function* tapped(): AsyncGenerator<AuditEvent> {
    let index = 0;
    let hashes: string[] = [];
    for await (const event of events) {
      const current = sorted[index];
      if (current && event.seq >= current.checkpoint.fromSeq && event.seq <= current.checkpoint.seq) {
        hashes.push(event.hash);
        if (event.seq === current.checkpoint.seq) {
          const { checkpoint, name } = current;
          if (event.hash !== checkpoint.headHash || merkleRoot(hashes) !== checkpoint.merkleRoot) {
            rangeProblem = fail(
              "merkle_mismatch",
              checkpoint.fromSeq,
              `events ${checkpoint.fromSeq}-${checkpoint.seq} do not match ${name} (signed ${checkpoint.time}): ` +
                `${event.hash !== checkpoint.headHash ? "the head hash differs" : "the Merkle root differs"}`,
            );
            return;
          }
          index += 1;
          hashes = [];
        }
      }
      yield event;
    }
  }
  const chain = await verifyChain(tapped(), { expectedHead: { seq: last.seq, hash: last.headHash } });
  if (rangeProblem !== null) return rangeProblem;
  if (!chain.ok) return { ...chain, checkpoints };
  return { ok: true, count: chain.count, headSeq: chain.headSeq, checkpoints, coveredSeq: last.seq };
}
