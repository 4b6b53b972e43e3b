// Readers for the text Redis answers `ACL LIST` and `CLIENT LIST` with: users and their rules, clients and their user.

/** One line of `ACL LIST`: `user <name> on nopass #<sha256> ~* &* +@all (selector …)`. */
export interface AclUser {
  readonly name: string;
  /** The rules after the name, in Redis words, selectors kept whole as `(…)`. */
  readonly rules: readonly string[];
}

/** Splits on spaces, keeping a parenthesised selector (which holds spaces) as one word. */
function words(text: string): string[] {
  const out: string[] = [];
  let current = "";
  let depth = 0;
  for (const ch of text) {
    if (ch === "(") depth += 1;
    if (ch === ")" && depth > 0) depth -= 1;
    if (ch === " " && depth === 0) {
      if (current !== "") out.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  if (current !== "") out.push(current);
  return out;
}

export function parseAclList(lines: readonly string[]): AclUser[] {
  const users: AclUser[] = [];
  for (const line of lines) {
    const [kind, name, ...rules] = words(line);
    if (kind !== "user" || name === undefined) continue;
    users.push({ name, rules });
  }
  return users;
}

const ALL_KEYS = new Set(["~*", "allkeys", "%RW~*"]);

/**
 * What a user may do, in Redis words, for the standing-privilege report: the state (`on`/`off`), `nopass`, key and
 * channel patterns, command rules and selectors. Password hashes (`#…`) are left out: they are noise, not privileges.
 */
export function privilegesOf(user: AclUser): string[] {
  return user.rules.filter((r) => !r.startsWith("#") && r !== "sanitize-payload" && r !== "skip-sanitize-payload");
}

/** The command and key rules of the user itself and of each selector, for deciding what it amounts to. */
function ruleSets(user: AclUser): string[][] {
  const top = user.rules.filter((r) => !r.startsWith("("));
  const selectors = user.rules.filter((r) => r.startsWith("(")).map((r) => words(r.slice(1, -1)));
  return [top, ...selectors];
}

/**
 * True when the rules amount to administering the server: all commands (`+@all`/`allcommands`), `+@admin` or
 * `+@dangerous` over all keys, or the `ACL` command itself (whoever may run `ACL SETUSER` may give itself anything).
 */
export function isAdmin(user: AclUser): boolean {
  return ruleSets(user).some((rules) => {
    if (rules.includes("+@all") || rules.includes("allcommands")) return true;
    if (rules.includes("+acl") || rules.includes("+acl|setuser")) return true;
    const allKeys = rules.some((r) => ALL_KEYS.has(r));
    return allKeys && (rules.includes("+@admin") || rules.includes("+@dangerous"));
  });
}

/** The `user=` of every client in `CLIENT LIST` output (one `key=value …` line per client). */
export function clientUsers(clientList: string): string[] {
  const users: string[] = [];
  for (const line of clientList.split("\n")) {
    for (const field of line.trim().split(" ")) {
      if (field.startsWith("user=")) users.push(field.slice("user=".length));
    }
  }
  return users;
}

/** Client ids (`id=`) of the `CLIENT LIST` lines logged in as `user`. */
export function clientIdsOf(clientList: string, user: string): string[] {
  const ids: string[] = [];
  for (const line of clientList.split("\n")) {
    const fields = line.trim().split(" ");
    if (!fields.includes(`user=${user}`)) continue;
    const id = fields.find((f) => f.startsWith("id="));
    if (id) ids.push(id.slice("id=".length));
  }
  return ids;
}
