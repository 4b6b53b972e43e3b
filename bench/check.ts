// `npm run bench -- --check`: the targets committed in bench/targets.json against the figures this run measured (the
// `bench: {…}` JSON), each reported as pass, FAIL, missing (its section ran but gave no figure) or not run.
import { readFileSync } from "node:fs";
import { ONLY_SECTIONS, type Section } from "./options.js";

export interface Target {
  /** The key in targets.json, e.g. `postgres-connector-removal-over-raw`. */
  readonly key: string;
  readonly description: string;
  /** The `--only` section whose run measures it. */
  readonly section: Section;
  /** A dotted path into the run's JSON, e.g. `connectors.postgres.removalOverRawP50`. */
  readonly figure: string;
  readonly bound: { readonly op: "≥" | "≤"; readonly value: number };
}

export type Status = "pass" | "FAIL" | "missing" | "not run";

export interface Outcome {
  readonly target: Target;
  readonly status: Status;
  /** The figure as measured; null when its section did not run or gave no number. */
  readonly measured: number | null;
}

const KEY = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const FIGURE = /^[A-Za-z0-9]+(\.[A-Za-z0-9]+)*$/;
const FIELDS = new Set(["description", "section", "figure", "atLeast", "atMost", "why"]);

/** Parses targets.json; throws naming the file, the key and the field at the first problem. */
export function parseTargets(text: string, file = "bench/targets.json"): Target[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not JSON (${(error as Error).message})`);
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new Error(`${file}: must be an object of targets by key`);
  }
  const targets: Target[] = [];
  for (const [key, entry] of Object.entries(document)) {
    if (key === "$comment") continue;
    const at = (field: string, problem: string) => new Error(`${file}: ${key}${field ? `.${field}` : ""}: ${problem}`);
    if (!KEY.test(key)) throw at("", "a key is lower-case words joined by '-'");
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw at("", "must be an object");
    const fields = entry as Record<string, unknown>;
    for (const field of Object.keys(fields)) {
      if (!FIELDS.has(field)) throw at(field, `unknown field (takes ${[...FIELDS].join(", ")})`);
    }
    const { description, section, figure, atLeast, atMost, why } = fields;
    if (typeof description !== "string" || description.trim() === "") throw at("description", "must be a text");
    if (typeof section !== "string" || !ONLY_SECTIONS.some((s) => s === section)) {
      throw at("section", `must be one of ${ONLY_SECTIONS.join(", ")}`);
    }
    if (typeof figure !== "string" || !FIGURE.test(figure)) {
      throw at("figure", "must be a dotted path into the bench JSON, e.g. connectors.postgres.removalOverRawP50");
    }
    if ((atLeast === undefined) === (atMost === undefined)) throw at("", "needs exactly one of atLeast and atMost");
    const limit = atLeast ?? atMost;
    if (typeof limit !== "number" || !Number.isFinite(limit)) {
      throw at(atLeast === undefined ? "atMost" : "atLeast", "must be a finite number");
    }
    if (why !== undefined && typeof why !== "string") throw at("why", "must be a text");
    targets.push({
      key,
      description,
      section: section as Section,
      figure,
      bound: { op: atLeast === undefined ? "≤" : "≥", value: limit },
    });
  }
  if (targets.length === 0) throw new Error(`${file}: holds no target`);
  return targets;
}

export function readTargets(file: string): Target[] {
  return parseTargets(readFileSync(file, "utf8"), file);
}

/** The number at a dotted path of the run's JSON, or null when the path is absent or not a finite number. */
export function figureAt(figures: unknown, path: string): number | null {
  let value: unknown = figures;
  for (const part of path.split(".")) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, part)) return null;
    value = (value as Record<string, unknown>)[part];
  }
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** Each target against the run: `ran(section)` says whether its section was part of this run. */
export function checkTargets(
  targets: readonly Target[],
  figures: unknown,
  ran: (section: Section) => boolean,
): Outcome[] {
  return targets.map((target) => {
    if (!ran(target.section)) return { target, status: "not run", measured: null };
    const measured = figureAt(figures, target.figure);
    if (measured === null) return { target, status: "missing", measured };
    const { op, value } = target.bound;
    const met = op === "≥" ? measured >= value : measured <= value;
    return { target, status: met ? "pass" : "FAIL", measured };
  });
}

/**
 * 0 when at least one target was checked and every checked one passed; 1 otherwise. A target that did not run is
 * neither: it does not fail the check, and it never counts as the pass that makes one.
 */
export function exitCodeOf(outcomes: readonly Outcome[]): 0 | 1 {
  const checked = outcomes.filter((o) => o.status !== "not run");
  return checked.length > 0 && checked.every((o) => o.status === "pass") ? 0 : 1;
}

/** The report `--check` prints: one line per target, then the verdict. */
export function formatOutcomes(outcomes: readonly Outcome[]): string {
  const cells = outcomes.map((o) => [
    o.target.key,
    `${o.target.bound.op} ${o.target.bound.value.toLocaleString("en-US")}`,
    o.measured === null ? "—" : o.measured.toLocaleString("en-US", { maximumSignificantDigits: 4 }),
    o.status,
    o.status === "not run" ? `(--only left out "${o.target.section}")` : o.target.description,
  ]);
  const headers = ["target", "bound", "measured", "result", ""];
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  const counts = (status: Status) => outcomes.filter((o) => o.status === status).length;
  const verdict =
    exitCodeOf(outcomes) === 0
      ? `check passed: ${counts("pass")} target(s) met`
      : counts("pass") + counts("FAIL") + counts("missing") === 0
        ? "check FAILED: no target belongs to the sections that ran, so nothing was checked"
        : `check FAILED: ${counts("FAIL")} missed, ${counts("missing")} not measured, ${counts("pass")} met`;
  const notRun = counts("not run");
  return [
    line(headers),
    ...cells.map(line),
    `${verdict}${notRun > 0 ? `; ${notRun} not run (neither passed nor failed)` : ""}`,
  ].join("\n");
}
