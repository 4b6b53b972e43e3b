// Ids say what they name, cannot be guessed, and sort by creation so pages of grants come out oldest first.
import { describe, expect, it } from "vitest";
import { newId, randomToken } from "./ids.js";

describe("ids", () => {
  it("carry their prefix, a time part and 16 random characters of [0-9a-z]", () => {
    expect(newId("grt")).toMatch(/^grt_[0-9a-z]{9}[0-9a-z]{16}$/);
    expect(randomToken(64)).toMatch(/^[0-9a-z]{64}$/);
  });

  it("sort by creation time", async () => {
    const first = newId("req");
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(newId("req") > first).toBe(true);
  });

  it("do not repeat, across more draws than the random pool holds", () => {
    const seen = new Set(Array.from({ length: 20_000 }, () => randomToken(16)));
    expect(seen.size).toBe(20_000);
  });

  it("use every character of the alphabet, roughly evenly (no modulo bias)", () => {
    const counts = new Map<string, number>();
    for (const char of randomToken(72_000)) counts.set(char, (counts.get(char) ?? 0) + 1);
    expect(counts.size).toBe(36);
    for (const count of counts.values()) expect(count).toBeGreaterThan(1_700); // 2,000 expected each
  });
});
