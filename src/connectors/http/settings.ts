// Settings of an http target and its entitlements, checked at start with errors that name the configuration path and
// never repeat a value (header values are API tokens).
import type { Identity } from "../../domain/index.js";
import { EphemeraError, Secret } from "../../support/index.js";
import type { EntitlementSpec } from "../connector.js";
import { entitlementSettings, SettingsReader, targetSettings } from "../support/settings.js";
import {
  type Fail,
  JsonTemplate,
  PathTemplate,
  PLACEHOLDERS,
  type Placeholder,
  PointerTemplate,
  StringTemplate,
} from "./template.js";

export const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type Method = (typeof METHODS)[number] | "HEAD";

/** One configured downstream call: `add`, `remove`, `check`, `health`, `listAccounts`. */
export interface CallSpec {
  /** The setting's name, for messages. */
  readonly name: string;
  readonly method: Method;
  readonly path: PathTemplate;
  readonly body: JsonTemplate | null;
  /** Statuses that mean the call did what it should. */
  readonly ok: ReadonlySet<number>;
}

/** How the `check` answer says whether the subject holds the role. */
export type CheckReading =
  | { readonly kind: "status" }
  | { readonly kind: "contains"; readonly pointer: PointerTemplate; readonly item: StringTemplate }
  | { readonly kind: "equals"; readonly pointer: PointerTemplate; readonly value: JsonTemplate };

export interface CheckSpec extends CallSpec {
  /** Statuses meaning "held" (status reading) or whose JSON body is read (pointer reading). */
  readonly present: ReadonlySet<number>;
  /** Statuses meaning "not held". */
  readonly absent: ReadonlySet<number>;
  readonly reading: CheckReading;
}

export interface ListSpec extends CallSpec {
  readonly items: PointerTemplate;
  readonly subject: PointerTemplate;
  readonly roles: PointerTemplate;
  /** Roles that amount to administering the target (reported `admin: true`). */
  readonly adminRoles: ReadonlySet<string>;
  /** The target account the API token belongs to (reported `broker: true`). */
  readonly brokerSubject: string | null;
}

export interface HttpTargetSettings {
  readonly baseUrl: URL;
  /** Sent with every call; values may be API tokens, so they stay wrapped. */
  readonly headers: Secret<Readonly<Record<string, string>>>;
  readonly subjectAttribute: string;
  readonly timeoutMs: number;
  readonly add: CallSpec;
  readonly remove: CallSpec;
  readonly check: CheckSpec;
  readonly listAccounts: ListSpec | null;
  readonly health: CallSpec | null;
}

/** The account id in the target: what `{subject}` becomes. */
export const SUBJECT_PATTERN = /^(?!\.+$)[A-Za-z0-9._@+-]{1,128}$/;
export const SUBJECT_RULE = "must be 1-128 characters of A-Z a-z 0-9 . _ @ + - (and not only dots)";
/** A role in the target: what `{role}` becomes. */
export const ROLE_PATTERN = /^(?!\.+$)[A-Za-z0-9._:-]{1,128}$/;
export const ROLE_RULE = "must be 1-128 characters of A-Z a-z 0-9 . _ : - (and not only dots)";

const ATTRIBUTE_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
/** Headers the HTTP client owns: a static value would break framing or the connection. */
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
]);
const TARGET_KEYS = [
  "baseUrl",
  "headers",
  "subjectAttribute",
  "timeoutMs",
  "add",
  "remove",
  "check",
  "listAccounts",
  "health",
];

type Raw = Readonly<Record<string, unknown>>;

function rawObject(raw: Raw, reader: SettingsReader, key: string): Raw {
  reader.object(key); // fails with the path when it is not an object
  return raw[key] as Raw;
}

function statusList(
  raw: Raw,
  reader: SettingsReader,
  key: string,
  fallback: readonly number[],
  allowEmpty = false,
): Set<number> {
  const value = raw[key] ?? fallback;
  if (!Array.isArray(value) || (value.length === 0 && !allowEmpty)) {
    reader.fail(key, `must be a${allowEmpty ? "" : " non-empty"} list of HTTP status codes`);
  }
  return new Set(
    value.map((status: unknown, i: number) => {
      if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599) {
        reader.fail(`${key}[${i}]`, "must be an HTTP status code (100-599)");
      }
      return status;
    }),
  );
}

function methodOf(reader: SettingsReader, fallback: Method | undefined, allowHead: boolean): Method {
  const known: readonly string[] = allowHead ? [...METHODS, "HEAD"] : METHODS;
  const method = reader.string("method", fallback === undefined ? {} : { fallback });
  if (!known.includes(method)) reader.fail("method", `must be one of ${known.join(", ")}`);
  return method as Method;
}

function callSpec(
  raw: Raw,
  reader: SettingsReader,
  name: string,
  options: {
    readonly placeholders: readonly Placeholder[];
    readonly ok: readonly number[];
    readonly method?: Method;
    readonly allowHead?: boolean;
    readonly extraKeys?: readonly string[];
    /** `check` reads its own `expect` object. */
    readonly expectIsObject?: boolean;
  },
): CallSpec {
  const r = reader.object(name);
  const settings = rawObject(raw, reader, name);
  r.only(["method", "path", "body", "expect", ...(options.extraKeys ?? [])]);
  const method = methodOf(r, options.method, options.allowHead ?? false);
  const path = PathTemplate.parse(r.string("path"), options.placeholders, (rule) => r.fail("path", rule));
  let body: JsonTemplate | null = null;
  if (settings.body !== undefined) {
    if (method === "GET" || method === "HEAD")
      r.fail("body", `is not sent with ${method}; use POST, PUT, PATCH or DELETE`);
    body = JsonTemplate.parse(settings.body, options.placeholders, (at, rule) => r.fail(`body${at}`, rule));
  }
  const ok = options.expectIsObject ? new Set<number>() : statusList(settings, r, "expect", options.ok);
  return { name, method, path, body, ok };
}

function checkSpec(raw: Raw, reader: SettingsReader): CheckSpec {
  const base = callSpec(raw, reader, "check", {
    placeholders: PLACEHOLDERS,
    ok: [200],
    method: "GET",
    expectIsObject: true,
  });
  const r = reader.object("check");
  const settings = rawObject(raw, reader, "check");
  if (
    settings.expect !== undefined &&
    (settings.expect === null || typeof settings.expect !== "object" || Array.isArray(settings.expect))
  ) {
    r.fail("expect", "must be an object: { present: [200], absent: [404] } or { pointer, contains | equals, absent }");
  }
  const expectation = (settings.expect ?? {}) as Raw;
  const e: SettingsReader = new SettingsReader(expectation, `${r.path}.expect`);
  e.only(["present", "absent", "pointer", "contains", "equals"]);
  const present = statusList(expectation, e, "present", [200]);
  const absent = statusList(expectation, e, "absent", [404], true);
  for (const status of present) {
    if (absent.has(status)) e.fail("absent", `must not share a status with present (${status})`);
  }
  let reading: CheckReading = { kind: "status" };
  const pointerText = expectation.pointer;
  if (pointerText !== undefined) {
    if (typeof pointerText !== "string") e.fail("pointer", "must be a JSON pointer such as /roles");
    const pointer = PointerTemplate.parse(pointerText, PLACEHOLDERS, (rule) => e.fail("pointer", rule));
    const hasContains = expectation.contains !== undefined;
    if (hasContains === (expectation.equals !== undefined)) {
      e.fail("pointer", "needs exactly one of contains (a string in a list) or equals (a JSON value)");
    }
    if (hasContains) {
      const item = itemTemplate(expectation.contains, (rule) => e.fail("contains", rule));
      reading = { kind: "contains", pointer, item };
    } else {
      const value = JsonTemplate.parse(expectation.equals, PLACEHOLDERS, (at, rule) => e.fail(`equals${at}`, rule));
      reading = { kind: "equals", pointer, value };
    }
    for (const status of present) {
      if (status < 200 || status > 299) e.fail("present", "must list 2xx statuses only when a pointer reads the body");
    }
  } else if (expectation.contains !== undefined || expectation.equals !== undefined) {
    e.fail(expectation.contains !== undefined ? "contains" : "equals", "needs a pointer saying where to look");
  }
  return { ...base, ok: new Set([...present, ...absent]), present, absent, reading };
}

function itemTemplate(value: unknown, fail: Fail): StringTemplate {
  if (typeof value !== "string" || value.length === 0) fail("must be a non-empty string such as {role}");
  return StringTemplate.parse(value, PLACEHOLDERS, fail);
}

function fieldPointer(reader: SettingsReader, key: string, fallback: string): PointerTemplate {
  const text = reader.string(key, { fallback });
  // A plain field name is the top-level key of an item; a value starting with / is a JSON pointer into the item.
  const pointer = text.startsWith("/") ? text : `/${text.replace(/~/g, "~0").replace(/\//g, "~1")}`;
  return PointerTemplate.parse(pointer, [], (rule) => reader.fail(key, rule));
}

function listSpec(raw: Raw, reader: SettingsReader): ListSpec {
  const extraKeys = ["items", "subject", "roles", "adminRoles", "brokerSubject"];
  const base = callSpec(raw, reader, "listAccounts", { placeholders: [], ok: [200], method: "GET", extraKeys });
  const r = reader.object("listAccounts");
  // Without `items` the answer itself is the list.
  const itemsText = r.has("items") ? r.string("items") : "";
  const items = PointerTemplate.parse(itemsText, [], (rule) => r.fail("items", rule));
  const adminRoles = r.list("adminRoles", { pattern: ROLE_PATTERN, rule: ROLE_RULE, min: 0, fallback: [] });
  return {
    ...base,
    items,
    subject: fieldPointer(r, "subject", "id"),
    roles: fieldPointer(r, "roles", "roles"),
    adminRoles: new Set(adminRoles),
    brokerSubject: r.optionalString("brokerSubject", { pattern: SUBJECT_PATTERN, rule: SUBJECT_RULE }) ?? null,
  };
}

function headersOf(raw: Raw, reader: SettingsReader): Record<string, string> {
  if (raw.headers === undefined) return {};
  const settings = rawObject(raw, reader, "headers");
  const out: Record<string, string> = {};
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(settings)) {
    if (!HEADER_NAME.test(name))
      reader.fail("headers", "header names must be HTTP tokens (A-Z a-z 0-9 and !#$%&'*+.^_`|~-)");
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower))
      reader.fail(`headers.${name}`, "is set by the HTTP client and cannot be configured");
    if (seen.has(lower)) reader.fail(`headers.${name}`, "is given twice (header names ignore case)");
    seen.add(lower);
    if (typeof value !== "string") {
      reader.fail(`headers.${name}`, "must be a string (or { env: NAME } / { file: PATH } in the file)");
    }
    // Checked without echoing: the value is often a bearer token.
    if (/[\r\n\0]/.test(value)) reader.fail(`headers.${name}`, "must not contain line breaks or NUL");
    out[name] = value;
  }
  return out;
}

function baseUrlOf(reader: SettingsReader): URL {
  const url = reader.url("baseUrl", ["http:", "https:"]);
  if (url.username !== "" || url.password !== "") {
    reader.fail("baseUrl", "must not carry credentials; send them as a header (headers.Authorization)");
  }
  if (url.search !== "" || url.hash !== "") reader.fail("baseUrl", "must not have a ?query or #fragment");
  return url;
}

export function parseTargetSettings(targetId: string, settings: Raw): HttpTargetSettings {
  const reader = targetSettings(targetId, settings);
  reader.only(TARGET_KEYS);
  const baseUrl = baseUrlOf(reader);
  const headers = headersOf(settings, reader);
  const subjectAttribute = reader.string("subjectAttribute", {
    fallback: "http_subject",
    pattern: ATTRIBUTE_PATTERN,
    rule: "must be 1-64 characters of A-Z a-z 0-9 . _ : -",
  });
  // Below the broker's 20 s deadline per connector call, so a slow target fails here with a clear message first.
  const timeoutMs = reader.integer("timeoutMs", { min: 100, max: 15_000, fallback: 5_000 });
  const add = callSpec(settings, reader, "add", { placeholders: PLACEHOLDERS, ok: [200, 201, 202, 204] });
  const remove = callSpec(settings, reader, "remove", { placeholders: PLACEHOLDERS, ok: [200, 202, 204] });
  for (const spec of [add, remove]) {
    if (!spec.path.placeholders.includes("subject") && !spec.body?.placeholders.has("subject")) {
      reader.fail(`${spec.name}.path`, "must name the account: use {subject} in the path or the body");
    }
  }
  const check = checkSpec(settings, reader);
  const listAccounts = reader.has("listAccounts") ? listSpec(settings, reader) : null;
  const health = reader.has("health")
    ? callSpec(settings, reader, "health", { placeholders: [], ok: [200, 204], method: "GET", allowHead: true })
    : null;
  return {
    baseUrl,
    headers: new Secret(headers),
    subjectAttribute,
    timeoutMs,
    add,
    remove,
    check,
    listAccounts,
    health,
  };
}

/** The role an entitlement elevates to. */
export function parseEntitlementSettings(entitlement: EntitlementSpec): { readonly role: string } {
  const reader = entitlementSettings(entitlement);
  reader.only(["role"]);
  return { role: reader.string("role", { pattern: ROLE_PATTERN, rule: ROLE_RULE }) };
}

/**
 * The identity's account id in the target, from the attribute the target names. A missing or malformed attribute is
 * the caller's problem to report (400), not a broker fault; the message names the attribute, never its value.
 */
export function subjectOf(identity: Identity, targetId: string, attribute: string): string {
  const value = identity.attributes[attribute];
  const where = `identity '${identity.id}': attribute '${attribute}' (named by targets.${targetId}.subjectAttribute)`;
  if (value === undefined || value === "") {
    throw new EphemeraError(
      "invalid_request",
      `${where} is missing: it must hold the identity's account id in the target`,
    );
  }
  if (!SUBJECT_PATTERN.test(value)) throw new EphemeraError("invalid_request", `${where} ${SUBJECT_RULE}`);
  return value;
}
