// Verifies the audit hash chain end to end: detects an edited, removed, reordered or substituted event (DESIGN §6.8).

import type { AuditEvent } from "../domain/index.js";
import { type ChainHead, GENESIS_HASH, hashEvent } from "../domain/index.js";
import type { AuditLog } from "../storage/index.js";

export type ChainProblem =
  /** The event's content does not match its own hash: it was edited. */
  | "hash_mismatch"
  /** The event does not name the previous event's hash: an event was rewritten with a recomputed hash, or replaced. */
  | "broken_link"
  /** A sequence number is missing: an event was removed. */
  | "gap"
  /** Sequence numbers go backwards or repeat: events were moved or duplicated. */
  | "reordered"
  /** The chain ends before the head the caller expected (from a checkpoint): the newest events were removed. */
  | "truncated"
  /** The event at the expected head's seq is not the one the checkpoint recorded. */
  | "checkpoint_mismatch";

export type ChainVerification =
  | { readonly ok: true; readonly count: number; readonly headSeq: number; readonly headHash: string }
  | {
      readonly ok: false;
      /** Events verified: those from the start up to `firstBadSeq - 1`. */
      readonly count: number;
      /** The lowest seq that cannot be trusted; every event below it verified. */
      readonly firstBadSeq: number;
      readonly problem: ChainProblem;
      readonly detail: string;
    };

export interface VerifyOptions {
  /** Where verification starts: a trusted checkpoint. Default: the genesis, `{ seq: 0, hash: GENESIS_HASH }`. */
  readonly from?: ChainHead;
  /**
   * The head the chain must reach, from a checkpoint kept outside the store. Without it, removing the newest
   * events cannot be detected: nothing after them would notice.
   */
  readonly expectedHead?: ChainHead;
}

/** Checks each event's hash, its link to the one before, and that seq rises by one, stopping at the first problem. */
export async function verifyChain(
  events: AsyncIterable<AuditEvent> | Iterable<AuditEvent>,
  options: VerifyOptions = {},
): Promise<ChainVerification> {
  const start = options.from ?? { seq: 0, hash: GENESIS_HASH };
  const expected = options.expectedHead;
  let head: ChainHead = start;
  let count = 0;
  const fail = (problem: ChainProblem, firstBadSeq: number, detail: string): ChainVerification => ({
    ok: false,
    count: firstBadSeq - start.seq - 1,
    firstBadSeq,
    problem,
    detail,
  });
  // After a jump in seq, the next event tells a removal (it continues upwards) from a move (an earlier seq follows).
  let jump: { missing: number; found: number } | null = null;

  for await (const event of events) {
    if (jump !== null) {
      return event.seq <= jump.found
        ? fail("reordered", jump.missing, `seq ${jump.found} comes before seq ${event.seq}`)
        : fail("gap", jump.missing, `seq ${jump.missing} is missing: seq ${jump.found} follows seq ${head.seq}`);
    }
    const next = head.seq + 1;
    if (!Number.isInteger(event.seq) || event.seq < next) {
      return fail("reordered", next, `seq ${String(event.seq)} comes after seq ${head.seq}`);
    }
    if (event.seq > next) {
      jump = { missing: next, found: event.seq };
      continue;
    }
    if (!hashMatches(event)) {
      return fail("hash_mismatch", event.seq, `event ${event.seq} (${event.id}) does not match its hash`);
    }
    if (event.prevHash !== head.hash) {
      // Either the previous event was rewritten and rehashed, or this one was replaced: the earlier one is suspect.
      const suspect = head.seq > start.seq ? head.seq : event.seq;
      return fail(
        "broken_link",
        suspect,
        `event ${event.seq} does not chain to ${head.seq === 0 ? "the genesis" : `event ${head.seq}`}`,
      );
    }
    if (expected !== undefined && event.seq === expected.seq && event.hash !== expected.hash) {
      return fail("checkpoint_mismatch", event.seq, `event ${event.seq} is not the one the checkpoint recorded`);
    }
    head = { seq: event.seq, hash: event.hash };
    count += 1;
  }
  if (jump !== null) {
    return fail("gap", jump.missing, `seq ${jump.missing} is missing: seq ${jump.found} follows seq ${head.seq}`);
  }
  if (expected !== undefined && head.seq < expected.seq) {
    return fail(
      "truncated",
      head.seq + 1,
      `the chain ends at seq ${head.seq}, before the expected head ${expected.seq}`,
    );
  }
  return { ok: true, count, headSeq: head.seq, headHash: head.hash };
}

/** Verifies everything the store holds up to its head as read at the start, so ongoing writes cannot keep it going. */
export async function verifyStoreChain(
  store: AuditLog,
  options: VerifyOptions & { readonly pageSize?: number } = {},
): Promise<ChainVerification> {
  const head = await store.auditHead();
  const pageSize = options.pageSize ?? 1000;
  async function* pages(): AsyncGenerator<AuditEvent> {
    let after = options.from?.seq ?? 0;
    while (after < head.seq) {
      const page = await store.listAudit(after, pageSize);
      if (page.length === 0) return;
      for (const event of page) if (event.seq <= head.seq) yield event;
      after = page[page.length - 1]!.seq;
    }
  }
  return verifyChain(pages(), options);
}

/** False also for an event too malformed to hash (an imported file may hold anything). */
function hashMatches(event: AuditEvent): boolean {
  try {
    return hashEvent(hashedFields(event)) === event.hash;
  } catch {
    return false;
  }
}

/** Exactly the fields that are hashed, so extra properties on an imported event cannot change the result. */
function hashedFields(e: AuditEvent): Omit<AuditEvent, "hash"> {
  return {
    seq: e.seq,
    id: e.id,
    time: e.time,
    code: e.code,
    severity: e.severity,
    outcome: e.outcome,
    actor: { type: e.actor.type, id: e.actor.id },
    requestId: e.requestId,
    grantId: e.grantId,
    identityId: e.identityId,
    data: e.data,
    prevHash: e.prevHash,
  };
}
