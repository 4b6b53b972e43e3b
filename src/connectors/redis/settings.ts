// Settings of a Redis target and its entitlements, checked at start; and the ACL rules an entitlement turns into.
import type { EntitlementSpec } from "../connector.js";
import { entitlementSettings, PREFIX_PATTERN, PREFIX_RULE, targetSettings } from "../support/settings.js";

export interface RedisTargetSettings {
  readonly host: string;
  readonly port: number;
  /** Database number of the credential URL (`redis://…/2`); ACL users are not per database. */
  readonly db: number | null;
  readonly tls: boolean;
  /** The ACL user the broker logs in as (`default` when the URL names none). */
  readonly adminUser: string;
  /** The admin password from the configuration (may be empty for a `nopass` user); AdminSecret takes over after rotation. */
  readonly password: string;
  readonly prefix: string;
  /** When true, entitlements may grant `+@all`, `+@admin`, `+@dangerous` and the commands in them (break-glass). */
  readonly allowAdminCommands: boolean;
}

export interface RedisEntitlementSettings {
  /** Key patterns, each becomes `~<pattern>`. */
  readonly keys: readonly string[];
  /** Command rules in Redis words, applied in order after `-@all`. */
  readonly commands: readonly string[];
  /** Pub/Sub channel patterns, each becomes `&<pattern>`. */
  readonly channels: readonly string[];
}

const TARGET_KEYS = ["url", "password", "prefix", "allowAdminCommands"] as const;
const ENTITLEMENT_KEYS = ["keys", "commands", "channels"] as const;

/**
 * A key or channel pattern: printable ASCII without spaces (each rule is one ACL word and ACL LIST is space-separated),
 * not starting with a character Redis reads as another ACL rule (`%R~` selectors, `~`, `&`, `>`/`<`/`#` passwords,
 * `+`/`-`/`@` commands) or `(` (selectors), at most 128 characters.
 */
export const PATTERN = /^(?![%~&><#+\-@(])[\x21-\x7e]{1,128}$/;
export const PATTERN_RULE =
  "must be 1-128 printable ASCII characters without spaces, not starting with % ~ & > < # + - @ (";

/** `+get`, `-flushall`, `+config|get`, `+@read`: one command, one subcommand or one category, lower case. */
export const COMMAND_RULE_PATTERN = /^[+-](?:@[a-z]{1,32}|[a-z][a-z0-9_-]{0,47}(?:\|[a-z][a-z0-9_-]{0,47})?)$/;
export const COMMAND_RULE_TEXT =
  "must be +command, -command, +command|subcommand or +@category (lower case a-z 0-9 _ -), e.g. +get, -flushall, +@read";

/** Categories that amount to administering the server. */
const ADMIN_CATEGORIES: ReadonlySet<string> = new Set(["@all", "@admin", "@dangerous"]);

/**
 * Commands in Redis 7.0's `@admin` and `@dangerous` categories (`ACL CAT admin`, `ACL CAT dangerous`): granting one
 * by name is refused like granting the category, unless the target allows admin commands.
 */
const ADMIN_COMMANDS: ReadonlySet<string> = new Set(
  (
    "debug sync acl|setuser acl|list acl|dryrun acl|deluser acl|getuser acl|save acl|users acl|load acl|log " +
    "cluster|delslots cluster|slaves cluster|count-failure-reports cluster|replicate cluster|addslots cluster|reset " +
    "cluster|setslot cluster|forget cluster|flushslots cluster|bumpepoch cluster|set-config-epoch cluster|failover " +
    "cluster|addslotsrange cluster|delslotsrange cluster|meet cluster|saveconfig cluster|replicas latency|latest " +
    "latency|history latency|reset latency|graph latency|histogram latency|doctor slaveof bgsave bgrewriteaof pfdebug " +
    "sort_ro flushdb module|load module|loadex module|list module|unload sort flushall failover lastsave slowlog|reset " +
    "slowlog|len slowlog|get replicaof restore client|unblock client|list client|no-evict client|kill client|unpause " +
    "client|pause monitor info config|resetstat config|get config|rewrite config|set shutdown role restore-asking save " +
    "psync swapdb pfselftest keys migrate replconf"
  ).split(" "),
);

/** True when a `+` rule grants something in `@admin`/`@dangerous` (or everything). */
export function grantsAdmin(rule: string): boolean {
  if (!rule.startsWith("+")) return false;
  const what = rule.slice(1);
  if (what.startsWith("@")) return ADMIN_CATEGORIES.has(what);
  if (ADMIN_COMMANDS.has(what)) return true;
  const base = what.split("|")[0] ?? what;
  // `+client` grants every subcommand, `client|kill` among them; `+config|get` is listed itself.
  if (!what.includes("|")) return [...ADMIN_COMMANDS].some((c) => c.startsWith(`${base}|`));
  return ADMIN_COMMANDS.has(base);
}

/** ACL user names the connector makes are `accountName(prefix, …)`; this bounds what it accepts as a handle. */
export const USER_NAME_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

export function parseTargetSettings(
  targetId: string,
  settings: Readonly<Record<string, unknown>>,
): RedisTargetSettings {
  const reader = targetSettings(targetId, settings);
  reader.only(TARGET_KEYS);
  const url = reader.url("url", ["redis:", "rediss:"]);
  if (url.password !== "") {
    reader.fail("url", "must not carry a password; put it in the password setting ({ env: NAME } or { file: PATH })");
  }
  if (url.search !== "" || url.hash !== "") reader.fail("url", "must not have a query or fragment");
  if (url.hostname === "") reader.fail("url", "must name a host");
  const path = url.pathname;
  if (path !== "" && path !== "/" && !/^\/\d{1,4}$/.test(path)) {
    reader.fail("url", "path must be empty or a database number, such as /0");
  }
  const db = /^\/\d{1,4}$/.test(path) ? Number(path.slice(1)) : null;
  const adminUser = url.username === "" ? "default" : decodeURIComponent(url.username);
  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(adminUser)) {
    reader.fail("url", "user name must be 1-64 characters of A-Z a-z 0-9 _ . @ -");
  }
  return {
    host: stripBrackets(url.hostname),
    port: url.port === "" ? 6379 : Number(url.port),
    db,
    tls: url.protocol === "rediss:",
    adminUser,
    password: reader.secret("password"),
    prefix: reader.string("prefix", { pattern: PREFIX_PATTERN, rule: PREFIX_RULE, fallback: "eph_" }),
    allowAdminCommands: reader.boolean("allowAdminCommands", false),
  };
}

/**
 * Patterns as Redis keeps them: duplicates once, and `*` alone when present (Redis turns `~*` into "all keys", drops
 * the other patterns and refuses any added after it).
 */
function normalized(values: readonly string[]): string[] {
  return values.includes("*") ? ["*"] : [...new Set(values)];
}

/** Validates an entitlement. Messages name the path and the rule, never the value (a misplaced secret must not reach a log). */
export function parseEntitlementSettings(
  entitlement: EntitlementSpec,
  target: Pick<RedisTargetSettings, "allowAdminCommands">,
): RedisEntitlementSettings {
  const reader = entitlementSettings(entitlement);
  reader.only(ENTITLEMENT_KEYS);
  const keys = reader.list("keys", { pattern: PATTERN, rule: PATTERN_RULE, min: 0, fallback: [] });
  const channels = reader.list("channels", { pattern: PATTERN, rule: PATTERN_RULE, min: 0, fallback: [] });
  const commands = reader.list("commands", { pattern: COMMAND_RULE_PATTERN, rule: COMMAND_RULE_TEXT, min: 1 });
  if (keys.length > 64) reader.fail("keys", "must have at most 64 patterns");
  if (channels.length > 64) reader.fail("channels", "must have at most 64 patterns");
  if (commands.length > 64) reader.fail("commands", "must have at most 64 rules");
  if (!target.allowAdminCommands) {
    commands.forEach((rule, index) => {
      if (grantsAdmin(rule)) {
        reader.fail(
          `commands[${index}]`,
          "grants @all, @admin or @dangerous commands, which this target refuses (set allowAdminCommands: true on the target to allow)",
        );
      }
    });
  }
  return { keys: normalized(keys), channels: normalized(channels), commands };
}

/**
 * The arguments of `ACL SETUSER` for a grant's user, one ACL word per argument (never one string Redis would split):
 * `reset` clears everything the name may have held (a retried issue starts over), then `on`, the password, the key and
 * channel patterns, `-@all` and the entitlement's command rules in order. Unless the target allows admin commands, a
 * final `-@dangerous` (which holds every `@admin` command) takes back what a broad category brought in: `+@write`
 * alone would grant FLUSHALL and SWAPDB, `+@read` KEYS.
 */
export function setUserArguments(
  name: string,
  password: string,
  settings: RedisEntitlementSettings,
  target: Pick<RedisTargetSettings, "allowAdminCommands">,
): readonly string[] {
  return [
    "SETUSER",
    name,
    "reset",
    "on",
    `>${password}`,
    ...settings.keys.map((k) => `~${k}`),
    "resetchannels",
    ...settings.channels.map((c) => `&${c}`),
    "-@all",
    ...settings.commands,
    ...(target.allowAdminCommands ? [] : ["-@dangerous"]),
  ];
}
