// Canonical JSON is what audit hashes cover: it must not change for any value, or old chains stop verifying.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { replayableSeed } from "../support/testing/random.js";
import { canonicalJson } from "./audit-chain.js";

/** The first, obviously-correct formulation, kept as the reference the fast one must match. */
function reference(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(reference).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(",")}}`;
}

/** The properties' seed: EPHEMERA_TEST_SEED replays a failed run. */
const seed = replayableSeed();

describe("canonicalJson", () => {
  it("sorts keys at every depth and drops undefined members", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"z":1}]},"b":1}',
    );
  });

  it("matches the reference formulation for any JSON-like value", () => {
    fc.assert(
      fc.property(fc.anything({ withObjectString: true, withNullPrototype: true, withBoxedValues: false }), (value) => {
        expect(canonicalJson(value)).toBe(reference(value));
      }),
      { numRuns: 2000, seed },
    );
  });
});
