// RabbitMQ's users, tags and permissions as the standing-privilege report words them.
import type { AccountInfo } from "../connector.js";
import { isManagedName } from "../support/accounts.js";
import { tagsOf } from "./admin-rotation.js";

interface Permission {
  readonly user: string;
  readonly vhost: string;
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

interface TopicPermission {
  readonly user: string;
  readonly vhost: string;
  readonly exchange: string;
  readonly write: string;
  readonly read: string;
}

function rows<T>(body: unknown, keys: readonly (keyof T)[]): T[] {
  if (!Array.isArray(body)) return [];
  return body.filter(
    (row): row is T =>
      row !== null &&
      typeof row === "object" &&
      keys.every((k) => typeof (row as Record<string, unknown>)[k as string] === "string"),
  );
}

export function accountsOf(
  users: unknown,
  permissions: unknown,
  topicPermissions: unknown,
  options: { readonly prefix: string; readonly adminUsername: string },
): AccountInfo[] {
  const granted = new Map<string, string[]>();
  const add = (user: string, privilege: string) => {
    const list = granted.get(user) ?? [];
    list.push(privilege);
    granted.set(user, list);
  };
  for (const p of rows<Permission>(permissions, ["user", "vhost", "configure", "write", "read"])) {
    add(p.user, `vhost ${p.vhost}: configure '${p.configure}' write '${p.write}' read '${p.read}'`);
  }
  for (const p of rows<TopicPermission>(topicPermissions, ["user", "vhost", "exchange", "write", "read"])) {
    add(p.user, `vhost ${p.vhost} topic exchange ${p.exchange}: write '${p.write}' read '${p.read}'`);
  }
  return rows<{ name: string }>(users, ["name"]).map((user) => {
    const tags = tagsOf(user);
    const broker = user.name === options.adminUsername;
    return {
      handle: user.name,
      // The broker's own login is never a candidate for removal, whatever its name looks like.
      managed: !broker && isManagedName(options.prefix, user.name),
      // RabbitMQ 3.10 users carry no expiry.
      expiresAt: null,
      privileges: [...tags.map((tag) => `tag: ${tag}`), ...(granted.get(user.name) ?? [])],
      admin: tags.includes("administrator"),
      ...(broker ? { broker: true } : {}),
    };
  });
}
