// What this Redis really does to ACL users and their connections: the facts the connector's removal order rests on.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomToken } from "../../support/ids.js";
import { tryLogin } from "./redis-client.js";
import {
  aclUsers,
  connectAs,
  deleteKeys,
  deleteUsersWithPrefix,
  REDIS,
  rawConnection,
  redisUp,
  testPrefix,
} from "./testing/fixture.js";

const up = await redisUp();

describe.skipIf(!up)("redis facts (measured on the real server)", () => {
  const prefix = testPrefix();
  const keyspace = `${prefix}k`;
  let raw: Awaited<ReturnType<typeof rawConnection>>;
  let serial = 0;

  /** A user allowed GET/SET/PING on the test key space, with one password. */
  async function makeUser(): Promise<{ user: string; password: string }> {
    serial += 1;
    const user = `${prefix}fact${serial}`;
    const password = randomToken(32);
    await raw.call("ACL", "SETUSER", user, "reset", "on", `>${password}`, `~${keyspace}:*`, "-@all", "+get", "+ping");
    return { user, password };
  }

  beforeAll(async () => {
    raw = await rawConnection();
  });
  afterAll(async () => {
    await deleteUsersWithPrefix(raw, prefix);
    await deleteKeys(raw, `${keyspace}:*`);
    raw.disconnect();
  });

  it("ACL DELUSER closes the connections logged in as the user, and its password is refused afterwards", async () => {
    const { user, password } = await makeUser();
    const session = await connectAs(user, password);
    try {
      expect(await session.call("GET", `${keyspace}:a`)).toBeNull();
      expect(await raw.call("ACL", "DELUSER", user)).toBe(1);
      await expect(session.call("GET", `${keyspace}:a`)).rejects.toThrow();
      expect(await tryLogin(REDIS, user, password)).toMatchObject({ accepted: false, refusal: /^WRONGPASS/ });
    } finally {
      session.disconnect();
    }
  });

  it("ACL SETUSER <user> off does NOT end a connection already logged in (it only refuses new logins)", async () => {
    const { user, password } = await makeUser();
    const session = await connectAs(user, password);
    try {
      await raw.call("ACL", "SETUSER", user, "off");
      expect(await session.call("GET", `${keyspace}:a`)).toBeNull();
      expect(await session.call("PING")).toBe("PONG");
      expect(await tryLogin(REDIS, user, password)).toMatchObject({ accepted: false });
    } finally {
      session.disconnect();
    }
  });

  it("a password change does NOT end a connection logged in with the old password", async () => {
    const { user, password } = await makeUser();
    const session = await connectAs(user, password);
    try {
      await raw.call("ACL", "SETUSER", user, "resetpass", `>${randomToken(32)}`);
      expect(await session.call("GET", `${keyspace}:a`)).toBeNull();
      expect(await tryLogin(REDIS, user, password)).toMatchObject({ accepted: false });
    } finally {
      session.disconnect();
    }
  });

  it("ACL DELUSER of a user that does not exist answers 0, not an error (so revoke is idempotent)", async () => {
    expect(await raw.call("ACL", "DELUSER", `${prefix}neverexisted`)).toBe(0);
  });

  it("CLIENT LIST names each connection's user (user=…); Redis 7.0 has no CLIENT LIST USER filter", async () => {
    const { user, password } = await makeUser();
    const session = await connectAs(user, password);
    try {
      const lines = String(await raw.call("CLIENT", "LIST")).split("\n");
      expect(lines.filter((l) => l.includes(` user=${user} `))).toHaveLength(1);
      const version = /redis_version:(\d+)\.(\d+)/.exec(String(await raw.call("INFO", "server")));
      if (version && Number(version[1]) === 7 && Number(version[2]) === 0) {
        await expect(raw.call("CLIENT", "LIST", "USER", user)).rejects.toThrow(/syntax error/);
      }
    } finally {
      session.disconnect();
    }
  });

  it("an ACL user holds several passwords at once, and <old removes one (the basis of admin rotation)", async () => {
    const { user, password } = await makeUser();
    const second = randomToken(32);
    await raw.call("ACL", "SETUSER", user, `>${second}`);
    expect(await tryLogin(REDIS, user, password)).toEqual({ accepted: true });
    expect(await tryLogin(REDIS, user, second)).toEqual({ accepted: true });
    await raw.call("ACL", "SETUSER", user, `<${password}`);
    expect(await tryLogin(REDIS, user, password)).toMatchObject({ accepted: false });
    expect(await tryLogin(REDIS, user, second)).toEqual({ accepted: true });
  });

  it("Redis echoes the offending rule in ACL SETUSER errors, a password among them (so errors are redacted)", async () => {
    const { user } = await makeUser();
    const missing = randomToken(32);
    const error = await raw.call("ACL", "SETUSER", user, `<${missing}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(missing);
    expect((error as Error).message).toContain("does not exist");
  });

  it("ACL SETUSER is atomic: a refused rule creates no user (an issue that fails leaves nothing)", async () => {
    const user = `${prefix}atomic`;
    await expect(
      raw.call("ACL", "SETUSER", user, "reset", "on", `>${randomToken(32)}`, "+get", "+nosuchcommand"),
    ).rejects.toThrow(/Unknown command/);
    expect(await aclUsers(raw)).not.toContain(user);
  });
});
