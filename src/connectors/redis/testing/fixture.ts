// Builders for Redis connector tests: raw connections, a dedicated broker ACL user per test file, and cleanup by prefix.
import type { Redis } from "ioredis";
import { randomToken } from "../../../support/ids.js";
import type { IssuedCredential } from "../../connector.js";
import type { OpenSession } from "../../testing/contract.js";
import { requireService } from "../../testing/services.js";
import { authenticate, type Endpoint, openConnection } from "../redis-client.js";

export const REDIS: Endpoint = { host: "127.0.0.1", port: 6379, tls: false };

/** True when Redis answers PING on 127.0.0.1:6379 (skips the suite outside CI otherwise). */
export function redisUp(): Promise<boolean> {
  return requireService("redis (127.0.0.1:6379)", async () => {
    const client = await openConnection(REDIS);
    try {
      return (await client.ping()) === "PONG";
    } finally {
      client.disconnect();
    }
  });
}

/** A connection as the server's `default` user, for test set-up and inspection only (never changed by tests). */
export function rawConnection(endpoint: Endpoint = REDIS): Promise<Redis> {
  return openConnection(endpoint);
}

/** A connection logged in as `user`. */
export async function connectAs(user: string, password: string, endpoint: Endpoint = REDIS): Promise<Redis> {
  const client = await openConnection(endpoint);
  try {
    await authenticate(client, user, password);
  } catch (error) {
    client.disconnect();
    throw error;
  }
  return client;
}

/** A unique account prefix for one test file, such as `eph_tk3f9a_` (fits PREFIX_PATTERN). */
export function testPrefix(): string {
  return `eph_t${randomToken(6)}_`;
}

/** The least an ACL user needs to be the broker's admin: the ACL command, CLIENT LIST and PING. */
export const BROKER_RULES = ["-@all", "+acl", "+client|list", "+ping"] as const;

/** Creates a dedicated broker admin user (never `default`), returning its name and password. */
export async function createBrokerUser(
  raw: Redis,
  name: string,
  rules: readonly string[] = BROKER_RULES,
): Promise<{ user: string; password: string }> {
  const password = randomToken(32);
  await raw.call("ACL", "SETUSER", name, "reset", "on", `>${password}`, ...rules);
  return { user: name, password };
}

export async function aclUsers(raw: Redis): Promise<string[]> {
  return ((await raw.call("ACL", "USERS")) as unknown[]).map(String);
}

/** Users whose name starts with `prefix`, sorted. */
export async function usersWithPrefix(raw: Redis, prefix: string): Promise<string[]> {
  return (await aclUsers(raw)).filter((u) => u.startsWith(prefix)).sort();
}

/** Deletes every ACL user whose name starts with `prefix` (the test file's own users). */
export async function deleteUsersWithPrefix(raw: Redis, prefix: string): Promise<void> {
  const users = await usersWithPrefix(raw, prefix);
  if (users.length > 0) await raw.call("ACL", "DELUSER", ...users);
}

/** Deletes every key matching `pattern` (the test file's own key space). */
export async function deleteKeys(raw: Redis, pattern: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = (await raw.call("SCAN", cursor, "MATCH", pattern, "COUNT", "1000")) as [string, string[]];
    cursor = next;
    if (keys.length > 0) await raw.call("DEL", ...keys);
  } while (cursor !== "0");
}

export function loginOf(credential: IssuedCredential): { user: string; password: string } {
  const fields = credential.fields.reveal();
  return { user: fields.username ?? "", password: fields.password ?? "" };
}

/** True when the credential logs in and can write and read a key of `keyspace` (the entitlement's pattern). */
export async function credentialWorks(credential: IssuedCredential, key: string): Promise<boolean> {
  const { user, password } = loginOf(credential);
  let client: Redis;
  try {
    client = await connectAs(user, password);
  } catch {
    return false;
  }
  try {
    await client.call("SET", key, "1");
    return (await client.call("GET", key)) === "1";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** A logged-in connection of the credential kept open, usable while a GET on `key` still answers. */
export async function openRedisSession(credential: IssuedCredential, key: string): Promise<OpenSession> {
  const { user, password } = loginOf(credential);
  const client = await connectAs(user, password);
  return {
    async usable() {
      try {
        await client.call("GET", key);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      client.disconnect();
    },
  };
}
