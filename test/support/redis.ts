// One command to the real Redis on 127.0.0.1:6379 on a connection of its own, for test setup and inspection.
import { Redis } from "ioredis";
import { randomToken } from "../../src/support/ids.js";

export async function redisCommand(...args: string[]): Promise<unknown> {
  const r = new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: true, maxRetriesPerRequest: 0 });
  await r.connect();
  try {
    return await r.call(args[0] ?? "PING", ...args.slice(1));
  } finally {
    r.disconnect();
  }
}

/** True when Redis answers; for a suite's service gate. */
export async function redisAnswers(): Promise<boolean> {
  const r = new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: true, maxRetriesPerRequest: 0 });
  await r.connect();
  r.disconnect();
  return true;
}

/**
 * Makes `<prefix>broker`, an ACL user with only what the broker's Redis connector needs, with a fresh password put in
 * the environment variable `passwordEnv` (target settings name it as `{ env }`).
 */
export async function createRedisBrokerUser(prefix: string, passwordEnv: string): Promise<string> {
  const password = randomToken(32);
  process.env[passwordEnv] = password;
  const user = `${prefix}broker`;
  await redisCommand("ACL", "SETUSER", user, "reset", "on", `>${password}`, "-@all", "+acl", "+client|list", "+ping");
  return user;
}
