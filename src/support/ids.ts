// Identifiers: random, URL-safe, prefixed by what they name (`req_`, `grt_`, `evt_`) so a reader knows what a bare id is.
import { randomFillSync } from "node:crypto";

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

// Random bytes are drawn from the CSPRNG 4 KiB at a time: one call per id cost 5% of a busy broker's thread.
const POOL = Buffer.alloc(4096);
let poolAt = POOL.length;

function randomByte(): number {
  if (poolAt === POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  return POOL[poolAt++]!;
}

/** `length` characters of [0-9a-z] from a CSPRNG, without modulo bias (bytes ≥ 252 are dropped). */
export function randomToken(length: number): string {
  let out = "";
  while (out.length < length) {
    const byte = randomByte();
    if (byte < 252) out += ALPHABET[byte % 36];
  }
  return out;
}

/**
 * `<prefix>_<time><random>`: 9 base-36 characters of milliseconds then 16 random ones, so ids sort by creation
 * (pages of grants come out oldest first) and still cannot be guessed.
 */
export function newId(prefix: "req" | "grt" | "evt" | "key" | "ntf"): string {
  return `${prefix}_${Date.now().toString(36).padStart(9, "0")}${randomToken(16)}`;
}

/** The lowest id `newId(prefix)` can make at `at` or later: every id made before `at` sorts below it. */
export function idBound(prefix: "req" | "grt", at: number): string {
  return `${prefix}_${Math.max(0, Math.floor(at)).toString(36).padStart(9, "0")}`;
}
