// Shared readers for authenticator settings: each problem is pushed as `path: what is wrong`, values are never echoed.
import type { JWK } from "jose";
import type { Identity } from "../domain/index.js";
import { parseDuration } from "../domain/index.js";
import { readJwks } from "./jwt/key-set.js";
import { keyUrlProblem } from "./jwt/remote-jwks.js";

export interface SettingsContext {
  /** The authenticator's path in the file: `authenticators.0`. */
  readonly at: string;
  /** The identities the config file defines. */
  readonly identities: ReadonlyMap<string, Identity>;
  readonly problems: string[];
  /** Reads a file the settings name (relative to the working directory); null, with a problem pushed, when it cannot. */
  readFile(path: string, at: string): string | null;
}

export class SettingsReader {
  constructor(
    private readonly raw: Readonly<Record<string, unknown>>,
    readonly ctx: SettingsContext,
    known: readonly string[],
  ) {
    for (const key of Object.keys(raw)) {
      if (!known.includes(key)) ctx.problems.push(`${ctx.at}: unknown option '${key}'`);
    }
  }

  problem(key: string, message: string): void {
    this.ctx.problems.push(`${this.ctx.at}.${key}: ${message}`);
  }

  value(key: string): unknown {
    return this.raw[key];
  }

  string(key: string, required: true): string;
  string(key: string, required?: false): string | undefined;
  string(key: string, required = false): string | undefined {
    const v = this.raw[key];
    if (v === undefined) {
      if (required) this.problem(key, "required");
      return required ? "" : undefined;
    }
    if (typeof v !== "string" || v.length === 0) {
      this.problem(key, "must be a non-empty string");
      return required ? "" : undefined;
    }
    return v;
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.raw[key];
    if (v === undefined) return fallback;
    if (typeof v !== "boolean") {
      this.problem(key, "must be true or false");
      return fallback;
    }
    return v;
  }

  integer(key: string, fallback: number, min: number, max: number): number {
    const v = this.raw[key];
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.problem(key, `must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return v;
  }

  seconds(key: string, fallback: number, max: number): number {
    const v = this.raw[key];
    if (v === undefined) return fallback;
    const parsed = typeof v === "string" || typeof v === "number" ? parseDuration(v) : null;
    if (parsed === null) {
      this.problem(key, "is not a duration (use 30s, 15m, 1h or whole seconds)");
      return fallback;
    }
    if (parsed > max) {
      this.problem(key, `must be at most ${max}s`);
      return max;
    }
    return parsed;
  }

  stringList(key: string, fallback: readonly string[], allowed?: readonly string[]): readonly string[] {
    const v = this.raw[key];
    if (v === undefined) return fallback;
    if (!Array.isArray(v) || v.length === 0 || !v.every((e) => typeof e === "string" && e.length > 0)) {
      this.problem(key, "must be a non-empty list of strings");
      return fallback;
    }
    if (allowed) {
      for (const [i, e] of v.entries()) {
        if (!allowed.includes(e as string)) this.problem(`${key}.${i}`, `must be one of ${allowed.join(", ")}`);
      }
    }
    return v as string[];
  }
}

/** Where an issuer's keys come from. */
export type KeysSetting =
  | { readonly kind: "discovery" }
  | { readonly kind: "url"; readonly url: string }
  | { readonly kind: "static"; readonly keys: readonly JWK[] };

/**
 * Reads `{ discovery: true }`, `{ url: https://… }` or `{ file: ./jwks.json }` at `key`. A file is read and checked now,
 * so a bad key set stops the broker at start rather than refusing every token later.
 */
export function readKeysSetting(
  reader: SettingsReader,
  key: string,
  allowInsecureLoopback: boolean,
  fallback: KeysSetting | null,
  uses: readonly string[] = ["sig"],
  skipUses: readonly string[] = [],
): KeysSetting {
  const raw = reader.value(key);
  const none: KeysSetting = { kind: "static", keys: [] };
  if (raw === undefined) {
    if (fallback) return fallback;
    reader.problem(key, "required: { file: PATH } or { url: https://… }");
    return none;
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw) || Object.keys(raw).length !== 1) {
    reader.problem(key, "must be { discovery: true }, { url: https://… } or { file: PATH }");
    return none;
  }
  const spec = raw as { discovery?: unknown; url?: unknown; file?: unknown };
  if (spec.discovery === true) return { kind: "discovery" };
  if (typeof spec.url === "string") {
    const problem = keyUrlProblem(spec.url, allowInsecureLoopback);
    if (problem) reader.problem(`${key}.url`, problem);
    return { kind: "url", url: spec.url };
  }
  if (typeof spec.file === "string") {
    const text = reader.ctx.readFile(spec.file, `${reader.ctx.at}.${key}.file`);
    if (text === null) return none;
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      reader.problem(`${key}.file`, "is not JSON");
      return none;
    }
    const { keys, problems } = readJwks(document, uses, skipUses);
    for (const p of problems) {
      reader.problem(`${key}.file`, p.index < 0 ? p.problem : `key ${p.index} ${p.problem}`);
    }
    if (keys.length === 0 && problems.length === 0) reader.problem(`${key}.file`, "holds no key");
    return { kind: "static", keys };
  }
  reader.problem(key, "must be { discovery: true }, { url: https://… } or { file: PATH }");
  return none;
}
