// The redis connector against the real server: the shared contract, then privileges, discovery, settings and outages.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomToken } from "../../support/ids.js";
import type { Connector, EntitlementSpec } from "../connector.js";
import { activeGrant, describeConnectorContract } from "../testing/contract.js";
import { connectorContext, entitlement, grantFor, testIdentity } from "../testing/target-fixture.js";
import { startTcpProxy } from "../testing/tcp-proxy.js";
import { createRedisConnector } from "./redis-connector.js";
import {
  connectAs,
  createBrokerUser,
  credentialWorks,
  deleteKeys,
  deleteUsersWithPrefix,
  loginOf,
  openRedisSession,
  rawConnection,
  redisUp,
  testPrefix,
  usersWithPrefix,
} from "./testing/fixture.js";

const up = await redisUp();
const prefix = testPrefix();
const keyspace = `${prefix}k`;
const TARGET = "cache";

function readWrite(): EntitlementSpec {
  return entitlement(TARGET, "rw", {
    keys: [`${keyspace}:*`],
    commands: ["+get", "+set", "+@read", "-keys", "+ping", "+subscribe"],
    channels: [`${keyspace}:events`],
  });
}

let brokers = 0;

/** A connector logged in as its own broker ACL user (made for it, so connectors of one file never share a password). */
async function brokerConnector(
  port = 6379,
  accountPrefix = prefix,
): Promise<Connector & { readonly brokerUser: string }> {
  const raw = await rawConnection();
  try {
    brokers += 1;
    const { user, password } = await createBrokerUser(raw, `${prefix}broker${brokers}`);
    const connector = createRedisConnector(
      {
        id: TARGET,
        type: "redis",
        settings: { url: `redis://${user}@127.0.0.1:${port}`, password, prefix: accountPrefix },
      },
      connectorContext(),
    );
    return Object.assign(connector, { brokerUser: user });
  } finally {
    raw.disconnect();
  }
}

if (up) {
  describeConnectorContract("redis", async () => {
    const connector = await brokerConnector();
    const spec = readWrite();
    return {
      connector,
      identity: testIdentity,
      entitlement: spec,
      makeGrant: () => grantFor(connector, spec),
      useCredential: (credential) => credentialWorks(credential, `${keyspace}:contract`),
      openSession: (credential) => openRedisSession(credential, `${keyspace}:contract`),
      cleanup: async () => {
        await connector.close();
      },
    };
  });
}

describe.skipIf(!up)("redis connector", () => {
  let raw: Awaited<ReturnType<typeof rawConnection>>;
  let connector: Awaited<ReturnType<typeof brokerConnector>>;

  beforeAll(async () => {
    raw = await rawConnection();
    connector = await brokerConnector();
  });
  afterAll(async () => {
    await connector?.close();
    await deleteUsersWithPrefix(raw, prefix);
    await deleteKeys(raw, `${keyspace}:*`);
    raw.disconnect();
  });

  async function issue(spec: EntitlementSpec = readWrite()) {
    const grant = grantFor(connector, spec);
    const response = await connector.issue({
      grant,
      identity: testIdentity,
      entitlement: spec,
      expiresAt: grant.expiresAt,
    });
    return { grant: activeGrant(grant, response), response };
  }

  it("creates exactly the ACL user the entitlement describes, with one password and nothing more", async () => {
    const { grant } = await issue();
    const reply = (await raw.call("ACL", "GETUSER", grant.handle)) as unknown[];
    const user = Object.fromEntries(
      Array.from({ length: reply.length / 2 }, (_, i) => [String(reply[2 * i]), reply[2 * i + 1]]),
    );
    expect(user.flags).toContain("on");
    expect(user.passwords).toHaveLength(1);
    expect(user.keys).toBe(`~${keyspace}:*`);
    expect(user.channels).toBe(`&${keyspace}:events`);
    expect(String(user.commands)).toMatch(/^-@all /);
    expect(String(user.commands)).toContain("-keys");
    expect(user.selectors).toEqual([]);
    await connector.revoke({ grant });
  });

  it("the issued credential reaches only its keys and commands (Redis enforces the ACL)", async () => {
    const { grant, response } = await issue();
    const { user, password } = loginOf(response.credential);
    expect(response.credential.env.reveal().REDIS_URL).toBe(`redis://${user}:${password}@127.0.0.1:6379`);
    const client = await connectAs(user, password);
    try {
      await client.call("SET", `${keyspace}:mine`, "v");
      expect(await client.call("GET", `${keyspace}:mine`)).toBe("v");
      await expect(client.call("GET", "someone-elses-key")).rejects.toThrow(/NOPERM/);
      await expect(client.call("KEYS", "*")).rejects.toThrow(/NOPERM/);
      await expect(client.call("FLUSHALL")).rejects.toThrow(/NOPERM/);
      await expect(client.call("ACL", "WHOAMI")).rejects.toThrow(/NOPERM/);
      await expect(client.call("DEL", `${keyspace}:mine`)).rejects.toThrow(/NOPERM/);
    } finally {
      client.disconnect();
    }
    await connector.revoke({ grant });
  });

  it("a broad category does not bring in dangerous commands: -@dangerous is appended unless the target allows them", async () => {
    const spec = entitlement(TARGET, "writer", { keys: [`${keyspace}:*`], commands: ["+@write", "+@read"] });
    const { grant } = await issue(spec);
    const dryrun = async (...args: string[]) => String(await raw.call("ACL", "DRYRUN", grant.handle, ...args));
    expect(await dryrun("set", `${keyspace}:w`, "v")).toBe("OK");
    expect(await dryrun("get", `${keyspace}:w`)).toBe("OK");
    for (const args of [["flushall"], ["flushdb"], ["keys", "*"], ["swapdb", "0", "1"], ["info"]]) {
      expect(await dryrun(...args), args[0]).toMatch(/no permissions to run/);
    }
    await connector.revoke({ grant });
  });

  it("verifyRemoved names each check and what it saw", async () => {
    const { grant, response } = await issue();
    const session = await openRedisSession(response.credential, `${keyspace}:v`);
    const before = await connector.verifyRemoved({ grant, probe: response.probe ?? null });
    expect(before.removed).toBe(false);
    expect(before.evidence.checks).toEqual([
      { check: "account.absent", passed: false, observed: `ACL USERS still lists ${grant.handle}` },
      { check: "sessions.none", passed: false, observed: `CLIENT LIST shows 1 client(s) logged in as ${grant.handle}` },
      { check: "login.refused", passed: false, observed: "a login with the issued credential succeeded" },
    ]);
    await connector.revoke({ grant });
    expect(await session.usable()).toBe(false);
    await session.close();
    const after = await connector.verifyRemoved({ grant, probe: response.probe ?? null });
    expect(after.removed).toBe(true);
    expect(after.evidence.checks.map((c) => [c.check, c.passed])).toEqual([
      ["account.absent", true],
      ["sessions.none", true],
      ["login.refused", true],
    ]);
    expect(after.evidence.checks[2]?.observed).toMatch(/refused: WRONGPASS/);
  });

  it("listAccounts reports an unmanaged privileged user as admin with its privileges, the broker, and default", async () => {
    const wide = `${prefix}ops_wide`;
    const category = `${prefix}ops_cat`;
    const narrow = `${prefix}ops_narrow`;
    await raw.call("ACL", "SETUSER", wide, "reset", "on", `>${randomToken(32)}`, "~*", "&*", "+@all");
    await raw.call("ACL", "SETUSER", category, "reset", "on", `>${randomToken(32)}`, "allkeys", "-@all", "+@admin");
    await raw.call("ACL", "SETUSER", narrow, "reset", "on", `>${randomToken(32)}`, "~app:*", "-@all", "+get");
    const { grant } = await issue();
    const accounts = await connector.listAccounts();
    const byName = new Map(accounts.map((a) => [a.handle, a]));
    expect(byName.get(wide)).toEqual({
      handle: wide,
      managed: false,
      expiresAt: null,
      privileges: ["on", "~*", "&*", "+@all"],
      admin: true,
      broker: false,
    });
    expect(byName.get(category)).toMatchObject({ managed: false, admin: true });
    expect(byName.get(category)?.privileges).toEqual(expect.arrayContaining(["~*", "+@admin"]));
    expect(byName.get(narrow)).toMatchObject({
      managed: false,
      admin: false,
      privileges: ["on", "~app:*", "resetchannels", "-@all", "+get"],
    });
    expect(byName.get(connector.brokerUser)).toMatchObject({ broker: true, managed: false, admin: true });
    expect(byName.get(connector.brokerUser)?.privileges).toContain("+acl");
    expect(byName.get(grant.handle)).toMatchObject({ managed: true, admin: false, broker: false });
    // The classic standing-privilege finding: the default user, on, with no password and every command.
    const fallback = byName.get("default");
    if (fallback?.privileges.includes("nopass")) {
      expect(fallback).toMatchObject({ managed: false, admin: true, broker: false });
      expect(fallback.privileges).toEqual(expect.arrayContaining(["on", "nopass", "+@all"]));
    }
    await connector.revoke({ grant });
  });

  it("removeAccount refuses names it does not make and never touches them", async () => {
    const other = `${prefix}ops_keep`;
    await raw.call("ACL", "SETUSER", other, "on", `>${randomToken(32)}`);
    await expect(connector.removeAccount(other)).rejects.toThrow(/not an account this broker makes/);
    await expect(connector.removeAccount("default")).rejects.toThrow(/not an account this broker makes/);
    expect(await usersWithPrefix(raw, other)).toEqual([other]);
  });

  it("a grant made under an earlier prefix is still revoked and verified after the prefix setting changed", async () => {
    const { grant, response } = await issue();
    const renamed = await brokerConnector(6379, `${prefix}n`);
    try {
      await renamed.revoke({ grant });
      expect((await renamed.verifyRemoved({ grant, probe: response.probe ?? null })).removed).toBe(true);
      // A handle whose recorded prefix is missing is checked against the current one, and refused here.
      await expect(renamed.revoke({ grant: { ...grant, handleData: {} } })).rejects.toThrow(/not an account/);
    } finally {
      await renamed.close();
    }
  });

  it("renew keeps the same password and fails when the user is gone", async () => {
    const { grant, response } = await issue();
    const renewed = await connector.renew({
      grant,
      identity: testIdentity,
      entitlement: readWrite(),
      expiresAt: grant.expiresAt + 60_000,
    });
    expect(renewed).toEqual({ credential: null, handleData: {} });
    expect(await credentialWorks(response.credential, `${keyspace}:renew`)).toBe(true);
    await connector.revoke({ grant });
    await expect(
      connector.renew({ grant, identity: testIdentity, entitlement: readWrite(), expiresAt: grant.expiresAt }),
    ).rejects.toThrow(/no longer exists/);
  });

  it("healthy answers true, and false (without throwing) when the server is unreachable", async () => {
    expect(await connector.healthy()).toBe(true);
    const proxy = await startTcpProxy(6379);
    const through = await brokerConnector(proxy.port);
    await proxy.cut();
    expect(await through.healthy()).toBe(false);
    await through.close();
    await proxy.close();
  });

  it("issue fails closed when Redis is unreachable and leaves no user behind", async () => {
    const proxy = await startTcpProxy(6379);
    const through = await brokerConnector(proxy.port);
    try {
      const spec = readWrite();
      expect(await through.healthy()).toBe(true);
      await proxy.cut();
      const grant = grantFor(through, spec);
      await expect(
        through.issue({ grant, identity: testIdentity, entitlement: spec, expiresAt: grant.expiresAt }),
      ).rejects.toThrow(/cannot connect to redis/);
      expect(await usersWithPrefix(raw, grant.handle)).toEqual([]);
      await proxy.restore();
      const again = grantFor(through, spec);
      await through.issue({ grant: again, identity: testIdentity, entitlement: spec, expiresAt: again.expiresAt });
      expect(await usersWithPrefix(raw, again.handle)).toEqual([again.handle]);
      await through.revoke({ grant: again });
    } finally {
      await through.close();
      await proxy.close();
    }
  });

  it("revoke rejects while Redis is unreachable, then removes and proves removal once it is back", async () => {
    const proxy = await startTcpProxy(6379);
    const through = await brokerConnector(proxy.port);
    try {
      const spec = readWrite();
      const opened = grantFor(through, spec);
      const response = await through.issue({
        grant: opened,
        identity: testIdentity,
        entitlement: spec,
        expiresAt: opened.expiresAt,
      });
      const grant = activeGrant(opened, response);
      await proxy.cut();
      await expect(through.revoke({ grant })).rejects.toThrow();
      await expect(through.verifyRemoved({ grant, probe: response.probe ?? null })).rejects.toThrow();
      // The user is still there: nothing may be reported removed while the target could not be reached.
      expect(await usersWithPrefix(raw, grant.handle)).toEqual([grant.handle]);
      await proxy.restore();
      await through.revoke({ grant });
      const result = await through.verifyRemoved({ grant, probe: response.probe ?? null });
      expect(result.removed).toBe(true);
    } finally {
      await through.close();
      await proxy.close();
    }
  });

  it("an issue Redis refuses (unknown command) fails with a safe message and leaves nothing", async () => {
    const spec = entitlement(TARGET, "odd", { keys: [`${keyspace}:*`], commands: ["+get", "+nosuchcommand"] });
    connector.validateEntitlement(spec);
    const grant = grantFor(connector, spec);
    const error = await connector
      .issue({ grant, identity: testIdentity, entitlement: spec, expiresAt: grant.expiresAt })
      .catch((e: unknown) => e);
    expect(String(error)).toMatch(/targets\.cache: ACL SETUSER .* failed: ERR .*Unknown command/);
    expect(await usersWithPrefix(raw, grant.handle)).toEqual([]);
  });
});

describe("redis target and entitlement settings", () => {
  const ctx = connectorContext();
  const make = (settings: Record<string, unknown>) => () =>
    createRedisConnector({ id: TARGET, type: "redis", settings }, ctx);

  it("refuses a password in the URL without echoing it", () => {
    const secret = randomToken(24);
    const attempt = make({ url: `redis://broker:${secret}@127.0.0.1:6379` });
    expect(attempt).toThrow(/^targets\.cache\.url: must not carry a password/);
    try {
      attempt();
    } catch (error) {
      expect(String(error)).not.toContain(secret);
    }
  });

  it("names the path of each bad target setting", () => {
    expect(make({})).toThrow("targets.cache.url: must be a non-empty string");
    expect(make({ url: "http://127.0.0.1" })).toThrow("targets.cache.url: must be a URL starting redis: or rediss://");
    expect(make({ url: "redis://127.0.0.1/x" })).toThrow(/targets\.cache\.url: path must be/);
    expect(make({ url: "redis://127.0.0.1", prefix: "Bad-" })).toThrow(/^targets\.cache\.prefix: /);
    expect(make({ url: "redis://127.0.0.1", password: 5 })).toThrow(/^targets\.cache\.password: /);
    expect(make({ url: "redis://127.0.0.1", allowAdminCommands: "yes" })).toThrow(
      "targets.cache.allowAdminCommands: must be true or false",
    );
    expect(make({ url: "redis://127.0.0.1", passwrd: "x" })).toThrow(/^targets\.cache\.passwrd: unknown setting/);
    expect(make({ url: "redis://u@127.0.0.1:6380/2", password: "p" })).not.toThrow();
  });

  it("refuses bad key patterns, command rules and admin categories, naming the entry", () => {
    const connector = make({ url: "redis://127.0.0.1" })();
    const check = (settings: Record<string, unknown>) => () =>
      connector.validateEntitlement(entitlement(TARGET, "e", settings));
    expect(check({ keys: ["a"], commands: ["+get"] })).not.toThrow();
    expect(check({ keys: ["a b"], commands: ["+get"] })).toThrow(/^targets\.cache\.entitlements\.e\.keys\[0\]: /);
    for (const bad of [
      "%R~x",
      "~x",
      "&x",
      ">pw",
      "<pw",
      "#ab",
      "+x",
      "-x",
      "@x",
      "(x",
      "a\u0000",
      "é",
      "x".repeat(129),
    ]) {
      expect(check({ keys: ["ok", bad], commands: ["+get"] }), bad).toThrow(/\.keys\[1\]: must be 1-128 printable/);
    }
    expect(check({ keys: ["a"], commands: ["+get", "get"] })).toThrow(/\.commands\[1\]: must be \+command/);
    for (const bad of ["+GET", "+get foo", "+@", "allcommands", "+get|a|b", "+@read|x", "on", "reset", ">x"]) {
      expect(check({ commands: [bad] }), bad).toThrow(/\.commands\[0\]: must be \+command/);
    }
    for (const admin of [
      "+@all",
      "+@admin",
      "+@dangerous",
      "+acl",
      "+acl|setuser",
      "+config",
      "+config|set",
      "+flushall",
      "+keys",
      "+client",
      "+client|kill",
      "+debug",
      "+module|load",
      "+shutdown",
    ]) {
      expect(check({ commands: ["+get", admin] }), admin).toThrow(/\.commands\[1\]: grants @all, @admin or @dangerous/);
    }
    for (const fine of ["-@all", "-@admin", "-flushall", "+client|setname", "+@read", "+config|help"]) {
      expect(check({ commands: [fine] }), fine).not.toThrow();
    }
    expect(check({ commands: [] })).toThrow(/\.commands: must be a non-empty list/);
    expect(check({ commands: ["+get"], roles: ["x"] })).toThrow(/\.roles: unknown setting/);
    expect(check({ commands: ["+get"], channels: ["ok", "a b"] })).toThrow(/\.channels\[1\]: /);
  });

  it("allows admin commands only when the target says so explicitly", () => {
    const connector = make({ url: "redis://127.0.0.1", allowAdminCommands: true })();
    expect(() =>
      connector.validateEntitlement(entitlement(TARGET, "glass", { keys: ["*"], commands: ["+@all"] })),
    ).not.toThrow();
  });

  it("prepare is local and derives the user name from the prefix and the grant id", () => {
    const connector = make({ url: "redis://127.0.0.1", prefix: "jit_" })();
    const spec = entitlement(TARGET, "e", { commands: ["+get"] });
    const { handle, handleData } = connector.prepare({
      grantId: "grt_abc123def456",
      identity: testIdentity,
      entitlement: spec,
    });
    expect(handle).toBe("jit_abc123def456");
    expect(handleData).toEqual({ prefix: "jit_" });
  });
});
