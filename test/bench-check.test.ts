// `npm run bench -- --check`: the comparison of bench/targets.json with a run's figures. A missed target fails the
// check, a target whose section did not run is never counted as passed, and a malformed file is refused by key.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkTargets, exitCodeOf, figureAt, formatOutcomes, parseTargets, type Target } from "../bench/check.js";

const committed = readFileSync(join(import.meta.dirname, "..", "bench", "targets.json"), "utf8");

const targets: Target[] = parseTargets(
  JSON.stringify({
    "pg-removal": {
      description: "removal ÷ raw",
      section: "connectors",
      figure: "connectors.postgres.removalOverRawP50",
      atMost: 2,
    },
    "floor-ratio": {
      description: "c=32 ÷ floor",
      section: "broker",
      figure: "ratios.throughputAt32OverFloor",
      atLeast: 1,
    },
  }),
);
const everything = () => true;

describe("bench --check", () => {
  it("the committed targets.json parses and holds the issue's targets", () => {
    const keys = parseTargets(committed).map((t) => `${t.key} ${t.bound.op} ${t.bound.value}`);
    expect(keys).toEqual([
      "sqlite-issue-c32-over-floor ≥ 1",
      "sqlite-issue-c32-p99-ms ≤ 15",
      "sqlite-issue-c1-p50-over-floor-p50 ≤ 3",
      "sqlite-expiry-lag-p99-ms ≤ 100",
      "sqlite-restart-ms ≤ 3000",
      "postgres-connector-removal-over-raw ≤ 2",
      "postgres-store-issue-c32-per-second ≥ 2000",
      "postgres-store-expiry-lag-p99-ms ≤ 1000",
    ]);
  });

  it("passes when every target that ran is met, bounds included", () => {
    const figures = { connectors: { postgres: { removalOverRawP50: 2 } }, ratios: { throughputAt32OverFloor: 1.2 } };
    const outcomes = checkTargets(targets, figures, everything);
    expect(outcomes.map((o) => [o.target.key, o.status, o.measured])).toEqual([
      ["pg-removal", "pass", 2],
      ["floor-ratio", "pass", 1.2],
    ]);
    expect(exitCodeOf(outcomes)).toBe(0);
    expect(formatOutcomes(outcomes)).toContain("check passed: 2 target(s) met");
  });

  it("fails on a missed target, printing the bound, the measured value and FAIL", () => {
    const figures = {
      connectors: { postgres: { removalOverRawP50: 2.01 } },
      ratios: { throughputAt32OverFloor: 0.99 },
    };
    const outcomes = checkTargets(targets, figures, everything);
    expect(outcomes.map((o) => o.status)).toEqual(["FAIL", "FAIL"]);
    expect(exitCodeOf(outcomes)).toBe(1);
    const printed = formatOutcomes(outcomes);
    expect(printed).toMatch(/pg-removal\s+≤ 2\s+2\.01\s+FAIL/);
    expect(printed).toMatch(/floor-ratio\s+≥ 1\s+0\.99\s+FAIL/);
    expect(printed).toContain("check FAILED: 2 missed");
  });

  it("a target whose section did not run is 'not run', never a pass: alone it fails the check", () => {
    const onlyConnectors = (section: string) => section === "connectors";
    const figures = { connectors: { postgres: { removalOverRawP50: 1.5 } } };
    const outcomes = checkTargets(targets, figures, onlyConnectors);
    expect(outcomes.map((o) => o.status)).toEqual(["pass", "not run"]);
    expect(exitCodeOf(outcomes)).toBe(0);
    expect(formatOutcomes(outcomes)).toMatch(/floor-ratio\s+≥ 1\s+—\s+not run/);
    expect(formatOutcomes(outcomes)).toContain("1 not run (neither passed nor failed)");

    const nothingRan = checkTargets(targets, {}, () => false);
    expect(nothingRan.map((o) => o.status)).toEqual(["not run", "not run"]);
    expect(exitCodeOf(nothingRan)).toBe(1);
    expect(formatOutcomes(nothingRan)).toContain("nothing was checked");
  });

  it("a section that ran but gave no figure (a server down, an error) is 'missing' and fails", () => {
    const figures = { connectors: { postgres: { error: "not reachable" } }, ratios: { throughputAt32OverFloor: 1.1 } };
    const outcomes = checkTargets(targets, figures, everything);
    expect(outcomes.map((o) => o.status)).toEqual(["missing", "pass"]);
    expect(exitCodeOf(outcomes)).toBe(1);
    expect(figureAt({ a: { b: "1" } }, "a.b")).toBeNull();
    expect(figureAt({ a: { b: Number.NaN } }, "a.b")).toBeNull();
    expect(figureAt({ a: { b: 3 } }, "a.b.c")).toBeNull();
    expect(figureAt({ a: { b: 3 } }, "a.toString")).toBeNull();
  });

  it("refuses a malformed targets.json, naming the key and the field", () => {
    const one = (entry: unknown) => () => parseTargets(JSON.stringify({ "pg-removal": entry }));
    const good = { description: "d", section: "connectors", figure: "a.b", atMost: 2 };
    expect(one(good)).not.toThrow();
    expect(() => parseTargets("{ not json")).toThrow(/^bench\/targets\.json: not JSON/);
    expect(() => parseTargets("[]")).toThrow("bench/targets.json: must be an object of targets by key");
    expect(() => parseTargets("{}")).toThrow("bench/targets.json: holds no target");
    expect(() => parseTargets(JSON.stringify({ "Bad Key": good }))).toThrow("bench/targets.json: Bad Key: a key is");
    expect(one("x")).toThrow("bench/targets.json: pg-removal: must be an object");
    expect(one({ ...good, atMost: undefined })).toThrow("pg-removal: needs exactly one of atLeast and atMost");
    expect(one({ ...good, atLeast: 1 })).toThrow("pg-removal: needs exactly one of atLeast and atMost");
    expect(one({ ...good, atMost: "2" })).toThrow("pg-removal.atMost: must be a finite number");
    expect(one({ ...good, section: "everything" })).toThrow("pg-removal.section: must be one of");
    expect(one({ ...good, figure: "a..b" })).toThrow("pg-removal.figure: must be a dotted path");
    expect(one({ ...good, description: " " })).toThrow("pg-removal.description: must be a text");
    expect(one({ ...good, atMots: 2 })).toThrow("pg-removal.atMots: unknown field");
  });
});
