// Turns audit drafts into chained events: the one place that assigns seq, id, prevHash and hash, for every store.
import type { AuditDraft, AuditEvent } from "../domain/types.js";
import { newId } from "../support/ids.js";
import { hashEvent } from "./chain.js";

/** The last event of the chain, or `{ seq: 0, hash: GENESIS_HASH }` when it is empty. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * The event that follows `head`. Only the fields of an AuditEvent are copied, and `data` goes through JSON once,
 * so the event hashed here is exactly the event a store reads back (a Date or an undefined field would not be).
 * Throws a TypeError when `data` is not JSON (a BigInt, a cycle).
 */
export function chainDraft(draft: AuditDraft, head: ChainHead, id: string = newId("evt")): AuditEvent {
  const data = JSON.parse(JSON.stringify(draft.data)) as Record<string, unknown>;
  const body: Omit<AuditEvent, "hash"> = {
    seq: head.seq + 1,
    id,
    time: draft.time,
    code: draft.code,
    severity: draft.severity,
    outcome: draft.outcome,
    actor: { type: draft.actor.type, id: draft.actor.id },
    requestId: draft.requestId,
    grantId: draft.grantId,
    identityId: draft.identityId,
    data,
    prevHash: head.hash,
  };
  return { ...body, hash: hashEvent(body) };
}
