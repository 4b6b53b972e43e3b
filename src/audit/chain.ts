// How audit events are chained: each event's hash covers the previous hash and every field of the event.
import { createHash } from "node:crypto";
import type { AuditEvent } from "../domain/types.js";

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
