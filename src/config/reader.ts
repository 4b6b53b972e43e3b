// What every section's parser is handed: the problem list, path resolution, durations, file reads and secret references.
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { parseDuration } from "../domain/index.js";

/** A duration as the file writes it: "90s", "15m", "1h30m", "2d" or whole seconds. */
export type DurationText = string | number;

export interface ConfigReader {
  readonly env: NodeJS.ProcessEnv;
  /** Every problem found so far, as `path: what is wrong`; the loader reports them all at once. */
  readonly problems: string[];
  /** Resolves a relative path from the directory the broker starts in. */
  path(p: string): string;
  /** Seconds of `value`, or of `fallback` when it is absent or (reported at `at`) not a duration. */
  seconds(value: DurationText | undefined, at: string, fallback: DurationText): number;
  /** A file's text, or null after reporting why it cannot be read. */
  readText(file: string, at: string): string | null;
  /** Resolves every `{ env: NAME }` and `{ file: PATH }` in `value`; reports a problem and gives "" when it cannot. */
  secretRef(value: unknown, at: string): unknown;
  /** `secretRef` on each setting of a map (a map's own keys are never read as a reference). */
  secretRefs(settings: Record<string, unknown>, at: string): Record<string, unknown>;
}

export function configReader(env: NodeJS.ProcessEnv, cwd: string): ConfigReader {
  const problems: string[] = [];
  const path = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  const secretRef = (value: unknown, at: string): unknown => resolveSecretRef(value, at, env, path, problems);
  const secretRefs = (settings: Record<string, unknown>, at: string) =>
    resolveSecretRefs(settings, at, env, path, problems);
  return {
    env,
    problems,
    path,
    seconds(value, at, fallback) {
      const otherwise = parseDuration(fallback) ?? 0;
      if (value === undefined) return otherwise;
      const parsed = parseDuration(value);
      if (parsed === null) {
        problems.push(`${at}: '${value}' is not a duration (use 90s, 15m, 1h30m, 2d or whole seconds)`);
        return otherwise;
      }
      return parsed;
    },
    readText(file, at) {
      try {
        return readFileSync(path(file), "utf8");
      } catch (error) {
        problems.push(`${at}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
        return null;
      }
    },
    secretRef,
    secretRefs,
  };
}

function resolveSecretRefs(
  settings: Record<string, unknown>,
  at: string,
  env: NodeJS.ProcessEnv,
  path: (p: string) => string,
  problems: string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    out[key] = resolveSecretRef(value, `${at}.${key}`, env, path, problems);
  }
  return out;
}

/**
 * Settings may name a secret instead of holding it: `{ env: NAME }` reads an environment variable, `{ file: PATH }`
 * a file (trailing newline dropped). Resolved here, once, so connectors see plain strings and no other code reads either.
 */
function resolveSecretRef(
  value: unknown,
  at: string,
  env: NodeJS.ProcessEnv,
  path: (p: string) => string,
  problems: string[],
): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  const ref = value as { env?: unknown; file?: unknown };
  if (keys.length === 1 && typeof ref.env === "string") {
    const found = env[ref.env];
    if (found === undefined) problems.push(`${at}: environment variable ${ref.env} is not set`);
    return found ?? "";
  }
  if (keys.length === 1 && typeof ref.file === "string") {
    try {
      return readFileSync(path(ref.file), "utf8").replace(/\r?\n$/, "");
    } catch (error) {
      problems.push(`${at}: cannot read ${ref.file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
      return "";
    }
  }
  return resolveSecretRefs(value as Record<string, unknown>, at, env, path, problems);
}
