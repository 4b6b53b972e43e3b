// Idempotent issue: a caller's Idempotency-Key names one request, on every replica, for 24 hours. The record is written
// insert-once in the same change set as the request, so of several racing attempts exactly one creates a request.
import { createHash } from "node:crypto";
import type { Identity, Millis } from "../../domain/index.js";
import { canonicalJson } from "../../domain/index.js";
import { StateNamespace, type Write } from "../../storage/index.js";
import { EphemeraError } from "../../support/index.js";
import type { LifecycleDeps } from "../shared/deps.js";

const IDEMPOTENCY_NAMESPACE = "request.idempotency";
/** How long a key keeps naming its request; a retry later than this is a new request. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** Printable ASCII without spaces, 1–255 characters (the IETF Idempotency-Key draft allows any string; this is ample). */
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

export interface IdempotencyRecord {
  readonly requestId: string;
  /** SHA-256 of the request's parameters: the same key with other parameters is refused, not replayed. */
  readonly fingerprint: string;
}

/** The records, by the hashed caller and key; each expires after IDEMPOTENCY_TTL_MS. */
const records = new StateNamespace<IdempotencyRecord>(IDEMPOTENCY_NAMESPACE);

export interface Idempotency {
  /** The store key: the caller and its key, hashed, so one caller cannot name another's requests. */
  readonly key: string;
  readonly fingerprint: string;
}

export function checkIdempotencyKey(key: string): void {
  if (!KEY_FORMAT.test(key)) {
    throw new EphemeraError(
      "invalid_request",
      "the Idempotency-Key header must be 1–255 printable ASCII characters without spaces",
      { extensions: { field: "Idempotency-Key" } },
    );
  }
}

export function idempotencyOf(caller: Identity, key: string, parameters: Record<string, unknown>): Idempotency {
  checkIdempotencyKey(key);
  const sha = (text: string) => createHash("sha256").update(text).digest("hex");
  return { key: sha(`${caller.id}\n${key}`), fingerprint: sha(canonicalJson(parameters)) };
}

/** The request a key already names, or null; throws when the key was used with other parameters. */
export async function recordedRequest(deps: LifecycleDeps, idem: Idempotency): Promise<string | null> {
  const row = await records.in(deps.store).get(idem.key);
  if (!row || (row.expiresAt !== null && row.expiresAt <= deps.clock.now())) return null;
  const record = row.value;
  if (record.fingerprint !== idem.fingerprint) {
    throw new EphemeraError(
      "idempotency_key_reused",
      "this Idempotency-Key was used for a different request; use a new key for a new request",
      { extensions: { requestId: record.requestId } },
    );
  }
  return record.requestId;
}

/** The insert-once write that binds the key to `requestId`; it fails the change set when another attempt won. */
export function recordRequest(idem: Idempotency, requestId: string, now: Millis): Write {
  return records.claimOnce(idem.key, { requestId, fingerprint: idem.fingerprint }, now + IDEMPOTENCY_TTL_MS, now);
}
