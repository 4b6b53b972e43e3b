// Preparsed policy slices in cedar-wasm's cache, a bounded number of slots shared by every decider in the process.
// cedar-wasm keeps preparsed sets by id with no way to drop one, so ids are reused: memory stays bounded.
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";

const SLOTS = 512;

/** Least recently used first: a Map keeps insertion order, and a hit is moved to the end. */
const bySlice = new Map<string, string>();
const free: string[] = Array.from({ length: SLOTS }, (_, i) => `ephemera-slice-${i}`);

/**
 * The preparsed set id holding exactly `policies` (id → text), parsing them on the first use of `sliceKey`.
 * `sliceKey` must identify the policy texts (the owning policy set's version and the slice's policy ids).
 */
export function preparsedSlice(sliceKey: string, policies: () => Record<string, string>): string {
  const hit = bySlice.get(sliceKey);
  if (hit !== undefined) {
    bySlice.delete(sliceKey);
    bySlice.set(sliceKey, hit);
    return hit;
  }
  let slot = free.pop();
  if (slot === undefined) {
    const [oldest, oldestSlot] = bySlice.entries().next().value as [string, string];
    bySlice.delete(oldest);
    slot = oldestSlot;
  }
  const answer = cedar.preparsePolicySet(slot, { staticPolicies: policies() });
  if (answer.type === "failure") {
    free.push(slot);
    throw new Error(`cedar could not preparse a policy slice: ${answer.errors.map((e) => e.message).join("; ")}`);
  }
  bySlice.set(sliceKey, slot);
  return slot;
}

/** How many slices are cached now (for tests and metrics). */
export function cachedSlices(): number {
  return bySlice.size;
}
