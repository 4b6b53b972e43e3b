// Durations are read the way operators write them, and anything else is refused rather than guessed.
import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "./duration.js";

describe("parseDuration", () => {
  it.each([
    ["90s", 90],
    ["15m", 900],
    ["1h30m", 5400],
    ["2d", 172_800],
    ["300", 300],
    [45, 45],
    ["0s", 0],
  ])("%s → %i seconds", (input, seconds) => {
    expect(parseDuration(input)).toBe(seconds);
  });

  it.each(["", "abc", "-5m", "5 minutes", "1.5h", "5M", "m", "1h 30m", "1e3"])("refuses %j", (input) => {
    expect(parseDuration(input)).toBeNull();
  });

  it("refuses non-integer numbers", () => {
    expect(parseDuration(1.5)).toBeNull();
    expect(parseDuration(Number.NaN)).toBeNull();
  });

  it("formats back to what it reads", () => {
    for (const s of [1, 59, 60, 3601, 86_400 + 61]) expect(parseDuration(formatDuration(s))).toBe(s);
  });
});
