// How audit events are chained: each event's hash covers the previous hash and every field of the event. Pure, so
// both the audit log's readers and every store's write path use this one definition.
import { createHash } from "node:crypto";
import type { AuditDraft, AuditEvent } from "./types.js";

export const GENESIS_HASH = "0".repeat(64);

/**
 * JSON with object keys sorted at every depth (by UTF-16 code units, as `Array.prototype.sort` does), so the same
 * event always hashes the same. Written as plain loops: it runs for every audit event on the write path.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + canonicalJson(value[i]);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  let out = "{";
  let first = true;
  for (const key of Object.keys(record).sort()) {
    const item = record[key];
    if (item === undefined) continue;
    out += `${first ? "" : ","}${JSON.stringify(key)}:${canonicalJson(item)}`;
    first = false;
  }
  return `${out}}`;
}

/** The hash of an event given the hash of the one before it. */
export function hashEvent(event: Omit<AuditEvent, "hash">): string {
  const { prevHash, ...body } = event;
  return createHash("sha256").update(prevHash).update("\n").update(canonicalJson(body)).digest("hex");
}

/** The last event of the chain, or `{ seq: 0, hash: GENESIS_HASH }` when it is empty. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * The event with id `id` (the store's `newId("evt")`) that follows `head`: the one place that assigns seq,
 * prevHash and hash, for every store. Only the fields of an AuditEvent are copied, and `data` goes through JSON once,
 * so the event hashed here is exactly the event a store reads back (a Date or an undefined field would not be).
 * Throws a TypeError when `data` is not JSON (a BigInt, a cycle).
 */
export function chainDraft(draft: AuditDraft, head: ChainHead, id: string): AuditEvent {
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
