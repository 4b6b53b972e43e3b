import { describe, expect, it } from "vitest";
import { parseDurationMs } from "./duration.js";

describe("parseDurationMs", () => {
  it("reads units from days down to milliseconds, and bare numbers as seconds", () => {
    expect(parseDurationMs("1h30m")).toBe(90 * 60_000);
    expect(parseDurationMs("2d")).toBe(2 * 86_400_000);
    expect(parseDurationMs("1s500ms")).toBe(1_500);
    expect(parseDurationMs("90")).toBe(90_000);
    expect(parseDurationMs(45)).toBe(45_000);
  });

  it("answers null for what is not a duration", () => {
    for (const bad of ["", "soon", "5x", "1m1h", "-5"]) expect(parseDurationMs(bad)).toBeNull();
    expect(parseDurationMs(1.5)).toBeNull();
    expect(parseDurationMs(-1)).toBeNull();
  });
});
