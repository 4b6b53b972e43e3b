// Rotation of the broker's ACL password on a dedicated admin user the test makes (never `default`): create → verify →
// retire, and a crash at any step settled by AdminSecret.settle().
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Connector } from "../connector.js";
import { AdminSecret, type RotationSteps } from "../support/admin-secret.js";
import { activeGrant } from "../testing/contract.js";
import { connectorContext, entitlement, grantFor, type TestContext, testIdentity } from "../testing/target-fixture.js";
import { adminRotationSteps } from "./admin-rotation.js";
import { tryLogin } from "./redis-client.js";
import { createRedisConnector } from "./redis-connector.js";
import {
  createBrokerUser,
  deleteUsersWithPrefix,
  REDIS,
  rawConnection,
  redisUp,
  testPrefix,
} from "./testing/fixture.js";

const up = await redisUp();

describe.skipIf(!up)("redis admin secret rotation", () => {
  const prefix = testPrefix();
  let raw: Awaited<ReturnType<typeof rawConnection>>;
  let serial = 0;

  beforeAll(async () => {
    raw = await rawConnection();
  });
  afterAll(async () => {
    await deleteUsersWithPrefix(raw, prefix);
    raw.disconnect();
  });

  interface Rig {
    readonly user: string;
    readonly configured: string;
    readonly ctx: TestContext;
    readonly targetId: string;
    connector(): Connector;
    secret(): AdminSecret;
  }

  /** A dedicated broker user, and connectors/AdminSecrets for it that share one store (as broker restarts would). */
  async function rig(): Promise<Rig> {
    serial += 1;
    const { user, password } = await createBrokerUser(raw, `${prefix}adm${serial}`);
    const ctx = connectorContext();
    const targetId = `cache${serial}`;
    return {
      user,
      configured: password,
      ctx,
      targetId,
      connector: () =>
        createRedisConnector(
          { id: targetId, type: "redis", settings: { url: `redis://${user}@127.0.0.1:6379`, password, prefix } },
          ctx,
        ),
      secret: () =>
        new AdminSecret({ targetId, store: ctx.store, sealer: ctx.sealer, clock: ctx.clock, configured: password }),
    };
  }

  async function passwordCount(user: string): Promise<number> {
    const reply = (await raw.call("ACL", "GETUSER", user)) as unknown[];
    return (reply[reply.indexOf("passwords") + 1] as unknown[]).length;
  }

  /** The broker can still make and remove access with the connector. */
  async function brokerWorks(connector: Connector): Promise<void> {
    const spec = entitlement("cache", "r", { keys: [`${prefix}k:*`], commands: ["+get"] });
    const opened = grantFor(connector, spec);
    const issued = await connector.issue({
      grant: opened,
      identity: testIdentity,
      entitlement: spec,
      expiresAt: opened.expiresAt,
    });
    const grant = activeGrant(opened, issued);
    await connector.revoke({ grant });
    expect((await connector.verifyRemoved({ grant, probe: issued.probe ?? null })).removed).toBe(true);
  }

  it("rotates: the new password works, the old one is refused, and the broker keeps working", async () => {
    const r = await rig();
    const connector = r.connector();
    try {
      expect(await connector.healthy()).toBe(true);
      const result = await connector.rotateAdminSecret();
      expect(result.rotated).toBe(true);
      expect(result.detail).toContain(r.user);
      const current = (await r.secret().current()).reveal();
      expect(current).not.toBe(r.configured);
      expect(result.detail).not.toContain(current);
      expect(await tryLogin(REDIS, r.user, current)).toEqual({ accepted: true });
      expect(await tryLogin(REDIS, r.user, r.configured)).toMatchObject({ accepted: false, refusal: /^WRONGPASS/ });
      expect(await passwordCount(r.user)).toBe(1);
      expect(await connector.healthy()).toBe(true);
      await brokerWorks(connector);
      // A restarted broker reads the rotated secret from the store, not the configured one.
      const restarted = r.connector();
      await brokerWorks(restarted);
      await restarted.close();
      // And again: each rotation retires the previous secret.
      expect((await connector.rotateAdminSecret()).rotated).toBe(true);
      expect(await tryLogin(REDIS, r.user, current)).toMatchObject({ accepted: false });
      expect(await passwordCount(r.user)).toBe(1);
      await brokerWorks(connector);
    } finally {
      await connector.close();
    }
  });

  it("a crash after the new password was added and before the old one was retired is settled: new kept, old retired", async () => {
    const r = await rig();
    const real = adminRotationSteps(REDIS, r.user);
    const crashing: RotationSteps = {
      ...real,
      retire: async () => {
        throw new Error("broker died before retiring the old password");
      },
    };
    await expect(r.secret().rotate(crashing)).rejects.toThrow(/broker died/);
    // Both passwords are valid on the target; the store holds the new one as pending.
    expect(await passwordCount(r.user)).toBe(2);
    expect(await tryLogin(REDIS, r.user, r.configured)).toEqual({ accepted: true });
    const settled = (await r.secret().settle(real)).reveal();
    expect(settled).not.toBe(r.configured);
    expect(await tryLogin(REDIS, r.user, settled)).toEqual({ accepted: true });
    expect(await tryLogin(REDIS, r.user, r.configured)).toMatchObject({ accepted: false });
    expect(await passwordCount(r.user)).toBe(1);
    expect((await r.secret().current()).reveal()).toBe(settled);
    const connector = r.connector();
    await brokerWorks(connector);
    await connector.close();
  });

  it("a crash inside apply after Redis took the new password is settled the same way", async () => {
    const r = await rig();
    const real = adminRotationSteps(REDIS, r.user);
    const crashing: RotationSteps = {
      ...real,
      apply: async (next, current) => {
        await real.apply(next, current);
        throw new Error("broker died right after ACL SETUSER >new");
      },
    };
    await expect(r.secret().rotate(crashing)).rejects.toThrow(/broker died/);
    const settled = (await r.secret().settle(real)).reveal();
    expect(settled).not.toBe(r.configured);
    expect(await tryLogin(REDIS, r.user, r.configured)).toMatchObject({ accepted: false });
    expect(await passwordCount(r.user)).toBe(1);
    // The next rotation starts from the settled secret.
    const connector = r.connector();
    expect((await connector.rotateAdminSecret()).rotated).toBe(true);
    expect(await tryLogin(REDIS, r.user, settled)).toMatchObject({ accepted: false });
    await brokerWorks(connector);
    await connector.close();
  });

  it("a crash before the target took the new password keeps the old one current", async () => {
    const r = await rig();
    const real = adminRotationSteps(REDIS, r.user);
    const crashing: RotationSteps = {
      ...real,
      apply: async () => {
        throw new Error("broker died before ACL SETUSER");
      },
    };
    await expect(r.secret().rotate(crashing)).rejects.toThrow(/broker died/);
    expect((await r.secret().settle(real)).reveal()).toBe(r.configured);
    expect(await passwordCount(r.user)).toBe(1);
    const connector = r.connector();
    await brokerWorks(connector);
    await connector.close();
  });

  it("a crash after the old password was retired but before the store was updated is settled too", async () => {
    const r = await rig();
    const real = adminRotationSteps(REDIS, r.user);
    const crashing: RotationSteps = {
      ...real,
      retire: async (old, next) => {
        await real.retire?.(old, next);
        throw new Error("broker died after retiring");
      },
    };
    await expect(r.secret().rotate(crashing)).rejects.toThrow(/broker died/);
    // The stored current password is now refused by Redis; a (re)started broker settles on its own when it logs in.
    expect(await tryLogin(REDIS, r.user, r.configured)).toMatchObject({ accepted: false });
    const connector = r.connector();
    expect(await connector.healthy()).toBe(true);
    const settled = (await r.secret().current()).reveal();
    expect(settled).not.toBe(r.configured);
    expect(await tryLogin(REDIS, r.user, settled)).toEqual({ accepted: true });
    expect(await passwordCount(r.user)).toBe(1);
    await brokerWorks(connector);
    await connector.close();
  });

  it("does not rotate an admin user configured without a password (and leaves it untouched)", async () => {
    const ctx = connectorContext();
    const connector = createRedisConnector(
      { id: "plain", type: "redis", settings: { url: "redis://127.0.0.1:6379", prefix } },
      ctx,
    );
    const before = String(await raw.call("ACL", "LIST"));
    const result = await connector.rotateAdminSecret();
    expect(result.rotated).toBe(false);
    expect(result.detail).toMatch(/without a password/);
    expect(String(await raw.call("ACL", "LIST"))).toBe(before);
    expect(await ctx.store.listAudit(0, 100)).toEqual([]);
    await connector.close();
  });
});
