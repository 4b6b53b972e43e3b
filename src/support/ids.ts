// Identifiers: random, URL-safe, prefixed by what they name (`req_`, `grt_`, `evt_`) so a reader knows what a bare id is.
import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** `length` characters of [0-9a-z] from a CSPRNG, without modulo bias. */
export function randomToken(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 252) out += ALPHABET[byte % 36];
      if (out.length === length) break;
    }
  }
  return out;
}

/**
 * `<prefix>_<time><random>`: 9 base-36 characters of milliseconds then 16 random ones, so ids sort by creation
 * (pages of grants come out oldest first) and still cannot be guessed.
 */
export function newId(prefix: "req" | "grt" | "evt" | "key"): string {
  return `${prefix}_${Date.now().toString(36).padStart(9, "0")}${randomToken(16)}`;
}
