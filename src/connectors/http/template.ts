// Request templates of the http connector: a path, a JSON body or a JSON pointer with {subject}/{role}/{grant} holes,
// filled so that a value is only ever the text of one path segment, one JSON string or one pointer token.

export const PLACEHOLDERS = ["subject", "role", "grant"] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];
export type TemplateValues = Readonly<Record<Placeholder, string>>;

/** Reports a configuration error for the setting being parsed (names its path, never its value). */
export type Fail = (rule: string) => never;

type Part = { readonly literal: string } | { readonly placeholder: Placeholder };

const PLACEHOLDER = /\{([^{}]*)\}/g;
const SHOWABLE_NAME = /^[A-Za-z0-9_]{1,32}$/;

function knownList(allowed: readonly Placeholder[]): string {
  return allowed.length === 0 ? "none are allowed here" : `known: ${allowed.map((p) => `{${p}}`).join(", ")}`;
}

/** Splits `text` into literal text and placeholders; unknown placeholders and stray braces are configuration errors. */
function parseParts(text: string, allowed: readonly Placeholder[], fail: Fail): Part[] {
  const parts: Part[] = [];
  let at = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? "";
    if (!(allowed as readonly string[]).includes(name)) {
      const shown = SHOWABLE_NAME.test(name) ? `{${name}}` : "a placeholder";
      fail(`${shown} is not a known placeholder (${knownList(allowed)})`);
    }
    if (match.index > at) parts.push({ literal: text.slice(at, match.index) });
    parts.push({ placeholder: name as Placeholder });
    at = match.index + match[0].length;
  }
  if (at < text.length) parts.push({ literal: text.slice(at) });
  for (const part of parts) {
    if ("literal" in part && /[{}]/.test(part.literal)) fail("has an unbalanced { or }");
  }
  return parts;
}

function fill(parts: readonly Part[], values: TemplateValues, encode: (value: string) => string): string {
  return parts.map((part) => ("literal" in part ? part.literal : encode(values[part.placeholder]))).join("");
}

/** A string with placeholders whose values are inserted as they are (the result is used as a JSON string value). */
export class StringTemplate {
  constructor(private readonly parts: readonly Part[]) {}
  get placeholders(): ReadonlySet<Placeholder> {
    return new Set(this.parts.flatMap((p) => ("placeholder" in p ? [p.placeholder] : [])));
  }
  static parse(text: string, allowed: readonly Placeholder[], fail: Fail): StringTemplate {
    return new StringTemplate(parseParts(text, allowed, fail));
  }
  render(values: TemplateValues): string {
    return fill(this.parts, values, (value) => value);
  }
}

/**
 * Percent-encodes everything but RFC 3986 unreserved characters: stricter than encodeURIComponent, which leaves
 * `!'()*` alone although some parsers treat them specially in a query.
 */
export function encodeValue(value: string): string {
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch {
    throw new Error("a value is not well-formed Unicode and cannot go into a URL");
  }
  return encoded.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Literal characters a path template may hold: RFC 3986 path and query characters, `%XX` escapes. */
const PATH_LITERAL = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/;

/** A path (with an optional query) below the target's base URL, e.g. `/api/users/{subject}/roles/{role}`. */
export class PathTemplate {
  private constructor(
    private readonly parts: readonly Part[],
    readonly placeholders: readonly Placeholder[],
  ) {}

  static parse(text: string, allowed: readonly Placeholder[], fail: Fail): PathTemplate {
    if (!text.startsWith("/")) fail("must start with /");
    if (text.includes("#")) fail("must not have a #fragment");
    if ((text.match(/\?/g) ?? []).length > 1) fail("must have at most one ?");
    const parts = parseParts(text, allowed, fail);
    for (const part of parts) {
      if ("literal" in part && !PATH_LITERAL.test(part.literal)) {
        fail("may hold only URL path characters (A-Z a-z 0-9 - . _ ~ ! $ & ' ( ) * + , ; = : @ / ? and %XX)");
      }
    }
    const placeholders = parts.flatMap((p) => ("placeholder" in p ? [p.placeholder] : []));
    return new PathTemplate(parts, placeholders);
  }

  /**
   * The path with each value percent-encoded: a value cannot add a segment, a query or a fragment. A value of only
   * dots is refused because servers resolve `.` and `..` (and their `%2E` forms) as segments, which would move the path.
   */
  render(values: TemplateValues): string {
    return fill(this.parts, values, (value) => {
      if (value.length === 0) throw new Error("an empty value cannot go into a URL path");
      if (/^\.+$/.test(value)) throw new Error("a value of only dots cannot go into a URL path");
      return encodeValue(value);
    });
  }

  /** The rendered path without its query, for evidence and errors (an operator's query could carry a key). */
  static withoutQuery(path: string): string {
    const at = path.indexOf("?");
    return at < 0 ? path : `${path.slice(0, at)}?…`;
  }
}

export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

type JsonNode =
  | { readonly kind: "value"; readonly value: Json }
  | { readonly kind: "string"; readonly template: StringTemplate }
  | { readonly kind: "array"; readonly items: readonly JsonNode[] }
  | { readonly kind: "object"; readonly entries: readonly (readonly [string, JsonNode])[] };

/**
 * A JSON document whose string leaves may hold placeholders. Values replace placeholders inside the parsed tree and
 * the tree is serialised after, so a value is always one JSON string: it can never close a quote or add a key.
 */
export class JsonTemplate {
  private constructor(private readonly root: JsonNode) {}

  /** The placeholders its string leaves use. */
  get placeholders(): ReadonlySet<Placeholder> {
    const found = new Set<Placeholder>();
    const walk = (node: JsonNode): void => {
      if (node.kind === "string") for (const p of node.template.placeholders) found.add(p);
      else if (node.kind === "array") node.items.forEach(walk);
      else if (node.kind === "object") for (const [, item] of node.entries) walk(item);
    };
    walk(this.root);
    return found;
  }

  static parse(
    value: unknown,
    allowed: readonly Placeholder[],
    fail: (at: string, rule: string) => never,
  ): JsonTemplate {
    return new JsonTemplate(parseJson(value, "", allowed, fail, 0));
  }

  render(values: TemplateValues): Json {
    return renderJson(this.root, values);
  }
}

function parseJson(
  value: unknown,
  at: string,
  allowed: readonly Placeholder[],
  fail: (at: string, rule: string) => never,
  depth: number,
): JsonNode {
  if (depth > 32) fail(at, "is nested too deeply (32 levels at most)");
  if (value === null || typeof value === "boolean") return { kind: "value", value };
  if (typeof value === "number") {
    if (!Number.isFinite(value)) fail(at, "must be a finite number");
    return { kind: "value", value };
  }
  if (typeof value === "string") {
    return { kind: "string", template: StringTemplate.parse(value, allowed, (rule) => fail(at, rule)) };
  }
  if (Array.isArray(value)) {
    return { kind: "array", items: value.map((item, i) => parseJson(item, `${at}[${i}]`, allowed, fail, depth + 1)) };
  }
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).map(([key, item]): [string, JsonNode] => {
      if (/[{}]/.test(key)) fail(at, "object keys must be plain text (placeholders go in string values only)");
      return [key, parseJson(item, `${at}.${key}`, allowed, fail, depth + 1)];
    });
    return { kind: "object", entries };
  }
  fail(at, "must be JSON (string, number, boolean, null, list or object)");
}

function renderJson(node: JsonNode, values: TemplateValues): Json {
  switch (node.kind) {
    case "value":
      return node.value;
    case "string":
      return node.template.render(values);
    case "array":
      return node.items.map((item) => renderJson(item, values));
    case "object": {
      // A null-prototype object: a key such as `__proto__` stays a plain key.
      const out: Record<string, Json> = Object.create(null);
      for (const [key, item] of node.entries) out[key] = renderJson(item, values);
      return out;
    }
  }
}

/**
 * An RFC 6901 JSON pointer whose reference tokens may hold placeholders (`/roles/{role}`). Tokens are split when the
 * configuration is read, so a value always stays inside its one token whatever `/` or `~` it holds.
 */
export class PointerTemplate {
  private constructor(
    private readonly tokens: readonly (readonly Part[])[],
    /** The pointer as configured, for evidence. */
    readonly text: string,
  ) {}

  static parse(text: string, allowed: readonly Placeholder[], fail: Fail): PointerTemplate {
    if (text !== "" && !text.startsWith("/")) fail("must be a JSON pointer: empty or starting with /");
    const raw = text === "" ? [] : text.slice(1).split("/");
    const tokens = raw.map((token) => {
      if (/~[^01]|~$/.test(token)) fail("has a ~ that is not ~0 or ~1");
      return parseParts(token, allowed, fail).map((part) =>
        "literal" in part ? { literal: part.literal.replace(/~1/g, "/").replace(/~0/g, "~") } : part,
      );
    });
    return new PointerTemplate(tokens, text);
  }

  /** The value the pointer names in `document`, or undefined when it names nothing. */
  resolve(document: unknown, values: TemplateValues): unknown {
    let current: unknown = document;
    for (const parts of this.tokens) {
      const token = fill(parts, values, (value) => value);
      if (Array.isArray(current)) {
        if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
        current = current[Number(token)];
      } else if (current !== null && typeof current === "object" && Object.hasOwn(current, token)) {
        current = (current as Record<string, unknown>)[token];
      } else {
        return undefined;
      }
    }
    return current;
  }
}

/** Structural equality of two JSON values (object key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every(
      (k) => Object.hasOwn(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
}
