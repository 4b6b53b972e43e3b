// Readers for connector settings: each checks one value and, when it is wrong, names its configuration path and the
// rule it broke, never the value itself (a secret pasted into the wrong key must not reach a log).
import { parseDuration } from "../../domain/index.js";
import type { EntitlementSpec } from "../connector.js";

/** The config path of an entitlement: `targets.<target>.entitlements.<short name>`. */
export function entitlementPath(entitlement: EntitlementSpec): string {
  const prefix = `${entitlement.targetId}/`;
  const short = entitlement.name.startsWith(prefix) ? entitlement.name.slice(prefix.length) : entitlement.name;
  return `targets.${entitlement.targetId}.entitlements.${short}`;
}

export class SettingsReader {
  constructor(
    private readonly settings: Readonly<Record<string, unknown>>,
    /** Config path of the object read, such as `targets.orders-db`. */
    readonly path: string,
  ) {}

  fail(key: string, rule: string): never {
    throw new Error(`${this.path}.${key}: ${rule}`);
  }

  has(key: string): boolean {
    return this.settings[key] !== undefined;
  }

  string(key: string, options: { pattern?: RegExp; rule?: string; fallback?: string } = {}): string {
    const value = this.settings[key] ?? options.fallback;
    if (typeof value !== "string" || value.length === 0) this.fail(key, "must be a non-empty string");
    if (options.pattern && !options.pattern.test(value)) this.fail(key, options.rule ?? "has an invalid format");
    return value;
  }

  optionalString(key: string, options: { pattern?: RegExp; rule?: string } = {}): string | undefined {
    return this.has(key) ? this.string(key, options) : undefined;
  }

  /** A secret setting: may be empty (a local server with no password), never echoed. */
  secret(key: string): string {
    const value = this.settings[key] ?? "";
    if (typeof value !== "string") this.fail(key, "must be a string (or { env: NAME } / { file: PATH } in the file)");
    return value;
  }

  integer(key: string, options: { min: number; max: number; fallback: number }): number {
    const value = this.settings[key] ?? options.fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < options.min || value > options.max) {
      this.fail(key, `must be a whole number from ${options.min} to ${options.max}`);
    }
    return value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.settings[key] ?? fallback;
    if (typeof value !== "boolean") this.fail(key, "must be true or false");
    return value;
  }

  /** A URL with one of the given protocols; the message never repeats it (it may carry a password). */
  url(key: string, protocols: readonly string[], fallback?: string): URL {
    const text = this.string(key, fallback === undefined ? {} : { fallback });
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      this.fail(key, "must be a URL");
    }
    if (!protocols.includes(url.protocol)) this.fail(key, `must be a URL starting ${protocols.join(" or ")}//`);
    return url;
  }

  /** A list of strings, each matching `pattern`; `min` items at least. */
  list(key: string, options: { pattern: RegExp; rule: string; min?: number; fallback?: readonly string[] }): string[] {
    const value = this.settings[key] ?? options.fallback;
    const min = options.min ?? 1;
    if (!Array.isArray(value) || value.length < min) {
      this.fail(key, min > 0 ? "must be a non-empty list" : "must be a list");
    }
    return value.map((item: unknown, index: number) => {
      if (typeof item !== "string" || !options.pattern.test(item)) this.fail(`${key}[${index}]`, options.rule);
      return item;
    });
  }

  /** A positive duration ("15m", "30d" or whole seconds), in seconds. */
  duration(key: string, fallback: number): number {
    const value = this.settings[key];
    if (value === undefined) return fallback;
    const parsed = typeof value === "string" || typeof value === "number" ? parseDuration(value) : null;
    if (parsed === null || parsed <= 0) this.fail(key, "must be a positive duration (30d, 24h, 15m or whole seconds)");
    return parsed;
  }

  /** A nested object, read with its own path. */
  object(key: string): SettingsReader {
    const value = this.settings[key];
    if (value === null || typeof value !== "object" || Array.isArray(value)) this.fail(key, "must be an object");
    return new SettingsReader(value as Record<string, unknown>, `${this.path}.${key}`);
  }

  /** Keys this reader does not know are refused, so a typo does not silently drop a setting. */
  only(known: readonly string[]): void {
    for (const key of Object.keys(this.settings)) {
      if (!known.includes(key)) this.fail(key, `unknown setting (known: ${known.join(", ")})`);
    }
  }
}

/** Reads an entitlement's connector settings, with the entitlement's config path in every message. */
export function entitlementSettings(entitlement: EntitlementSpec): SettingsReader {
  return new SettingsReader(entitlement.settings, entitlementPath(entitlement));
}

/** Reads a target's connector settings. */
export function targetSettings(targetId: string, settings: Readonly<Record<string, unknown>>): SettingsReader {
  return new SettingsReader(settings, `targets.${targetId}`);
}

/** The broker's marker on accounts it makes: lower-case letters, digits and `_`, starting with a letter. */
export const PREFIX_PATTERN = /^[a-z][a-z0-9_]{0,15}$/;
export const PREFIX_RULE = "must be 1-16 characters of a-z 0-9 _, starting with a letter";

/** A name in the target (role, group, vhost, database) the operator configured: checked, then always quoted. */
export const OBJECT_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;
export const OBJECT_NAME_RULE = "must be 1-63 characters of A-Z a-z 0-9 _ $ -, starting with a letter or _";
