// Settings of a RabbitMQ target and its entitlements, checked at start; errors name the config path, never the value.
import type { EntitlementSpec } from "../connector.js";
import {
  entitlementSettings,
  PREFIX_PATTERN,
  PREFIX_RULE,
  type SettingsReader,
  targetSettings,
} from "../support/settings.js";

export interface RabbitmqTargetSettings {
  /** Base of the management HTTP API (no credentials), e.g. `http://127.0.0.1:15672`. */
  readonly managementUrl: URL;
  /** Where clients connect over AMQP 0-9-1 (no credentials, no vhost), e.g. `amqp://127.0.0.1:5672`. */
  readonly amqp: { readonly protocol: "amqp" | "amqps"; readonly hostname: string; readonly port: number };
  /** The admin user the broker logs in to the management API as. */
  readonly username: string;
  /** Its password as configured (the broker may have rotated it since: see AdminSecret). */
  readonly password: string;
  readonly prefix: string;
  /** Whether entitlements may hand out the `administrator` tag. Off by default. */
  readonly allowAdministratorTag: boolean;
}

/** RabbitMQ's user tags an entitlement may grant. `administrator` only where the target allows it. */
export const GRANTABLE_TAGS = ["management", "policymaker", "monitoring", "administrator"] as const;
export type GrantableTag = (typeof GRANTABLE_TAGS)[number];

export interface RabbitmqEntitlementSettings {
  readonly vhost: string;
  /** Permission regular expressions (RabbitMQ's configure / write / read), `^$` meaning nothing. */
  readonly configure: string;
  readonly write: string;
  readonly read: string;
  readonly tags: readonly GrantableTag[];
}

export const TARGET_KEYS = [
  "managementUrl",
  "amqpUrl",
  "username",
  "password",
  "prefix",
  "allowAdministratorTag",
] as const;
export const ENTITLEMENT_KEYS = ["vhost", "configure", "write", "read", "tags"] as const;

/** `/` (the default vhost) or a plain name. Anything else is refused rather than escaped: it goes into URL paths. */
const VHOST_PATTERN = /^(?:\/|[A-Za-z0-9_][A-Za-z0-9_.-]{0,62})$/;
const VHOST_RULE = "must be / or 1-63 characters of A-Z a-z 0-9 _ . -, starting with a letter, digit or _";

/** A RabbitMQ user name the operator configured (the admin). */
const USERNAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$/;
const USERNAME_RULE = "must be 1-64 characters of A-Z a-z 0-9 _ . @ -, starting with a letter, digit or _";

export const MAX_PATTERN_LENGTH = 256;
const PATTERN_RULE =
  `must be a regular expression of at most ${MAX_PATTERN_LENGTH} printable ASCII characters that compiles ` +
  "(unicode mode; no \\p \\P \\u escapes, lookbehinds, [] [^] or [: [. [= which PCRE reads differently); ^$ means nothing";

/**
 * True when `pattern` is a permission regex both JavaScript and RabbitMQ's PCRE accept. Unicode mode drops the lenient
 * legacy syntax (`\c`, lone `{`, `]`) that PCRE refuses; the escapes, lookbehinds (PCRE wants them fixed-length) and
 * the bracket forms PCRE reads differently (`[:alpha:]`, and `[]` / `[^]`, where PCRE takes the `]` as a literal) are
 * refused outright.
 */
export function isPermissionPattern(pattern: string): boolean {
  if (pattern.length > MAX_PATTERN_LENGTH || !/^[\x20-\x7e]*$/.test(pattern)) return false;
  if (/\\[pPu]|\(\?<[=!]|\[[:.=]|\[\^?\]/.test(pattern)) return false;
  try {
    new RegExp(pattern, "u");
    return true;
  } catch {
    return false;
  }
}

function endpoint(reader: SettingsReader, key: string, protocols: readonly string[], fallback: string): URL {
  const url = reader.url(key, protocols, fallback);
  if (url.username !== "" || url.password !== "") {
    reader.fail(key, "must not carry credentials: set username and password instead");
  }
  if (url.search !== "" || url.hash !== "") reader.fail(key, "must not carry a query or fragment");
  return url;
}

export function parseTargetSettings(
  targetId: string,
  settings: Readonly<Record<string, unknown>>,
): RabbitmqTargetSettings {
  const reader: SettingsReader = targetSettings(targetId, settings);
  reader.only(TARGET_KEYS);
  const managementUrl = endpoint(reader, "managementUrl", ["http:", "https:"], "http://127.0.0.1:15672");
  const amqpUrl = endpoint(reader, "amqpUrl", ["amqp:", "amqps:"], "amqp://127.0.0.1:5672");
  if (amqpUrl.pathname !== "" && amqpUrl.pathname !== "/") {
    reader.fail("amqpUrl", "must not name a vhost: each entitlement sets its own");
  }
  const protocol = amqpUrl.protocol === "amqps:" ? "amqps" : "amqp";
  const port = amqpUrl.port === "" ? (protocol === "amqps" ? 5671 : 5672) : Number(amqpUrl.port);
  return {
    managementUrl,
    amqp: { protocol, hostname: amqpUrl.hostname.replace(/^\[|\]$/g, ""), port },
    username: reader.string("username", { pattern: USERNAME_PATTERN, rule: USERNAME_RULE }),
    password: reader.secret("password"),
    prefix: reader.string("prefix", { pattern: PREFIX_PATTERN, rule: PREFIX_RULE, fallback: "eph_" }),
    allowAdministratorTag: reader.boolean("allowAdministratorTag", false),
  };
}

export function parseEntitlementSettings(
  entitlement: EntitlementSpec,
  target: Pick<RabbitmqTargetSettings, "allowAdministratorTag">,
): RabbitmqEntitlementSettings {
  const reader: SettingsReader = entitlementSettings(entitlement);
  reader.only(ENTITLEMENT_KEYS);
  const vhost = reader.string("vhost", { pattern: VHOST_PATTERN, rule: VHOST_RULE });
  const pattern = (key: "configure" | "write" | "read"): string => {
    const value = entitlement.settings[key] ?? "^$";
    if (typeof value !== "string" || !isPermissionPattern(value)) reader.fail(key, PATTERN_RULE);
    return value;
  };
  const rawTags = reader.list("tags", {
    pattern: /^[a-z]{1,32}$/,
    rule: `must be one of ${GRANTABLE_TAGS.join(", ")}`,
    min: 0,
    fallback: [],
  });
  const tags: GrantableTag[] = [];
  for (const [index, tag] of rawTags.entries()) {
    const known = GRANTABLE_TAGS.find((t) => t === tag);
    if (!known) reader.fail(`tags[${index}]`, `must be one of ${GRANTABLE_TAGS.join(", ")}`);
    if (known === "administrator" && !target.allowAdministratorTag) {
      reader.fail(`tags[${index}]`, "administrator is refused unless the target sets allowAdministratorTag: true");
    }
    if (!tags.includes(known)) tags.push(known);
  }
  return { vhost, configure: pattern("configure"), write: pattern("write"), read: pattern("read"), tags };
}
