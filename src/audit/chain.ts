// How audit events are chained: each event's hash covers the previous hash and every field of the event.
import { createHash } from "node:crypto";
import type { AuditEvent } from "../domain/types.js";

export const GENESIS_HASH = "0".repeat(64);

/** JSON with object keys sorted at every depth, so the same event always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** The hash of an event given the hash of the one before it. */
export function hashEvent(event: Omit<AuditEvent, "hash">): string {
  const { prevHash, ...body } = event;
  return createHash("sha256").update(prevHash).update("\n").update(canonicalJson(body)).digest("hex");
}
