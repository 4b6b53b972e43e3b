// Every default is usable as written: a duration the loader cannot read would silently become zero.
import { describe, expect, it } from "vitest";
import { parseDuration } from "../domain/duration.js";
import { DEFAULTS } from "./defaults.js";

/** Each `[path, value]` of a duration default (keys named like the file's duration options). */
function durations(value: unknown, at: string): [string, unknown][] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, inner]): [string, unknown][] =>
    /interval|timeout|window|claim|retry|duration|within|rotation/i.test(key) && typeof inner === "string"
      ? [[`${at}${key}`, inner]]
      : durations(inner, `${at}${key}.`),
  );
}

describe("configuration defaults", () => {
  it("writes every duration so the loader reads it", () => {
    const found = durations(DEFAULTS, "");
    expect(found.length).toBeGreaterThan(15);
    for (const [at, value] of found) expect(parseDuration(value as string), at).toBeGreaterThan(0);
  });
});
