// Rotation of the broker's MariaDB admin password, on an admin account the test makes (never root): the new password
// works, the old one is refused, the broker keeps working, and a crash mid-rotation settles to a password that works.
import type { Connection } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminSecret, type RotationSteps } from "../support/admin-secret.js";
import { activeGrant } from "../testing/contract.js";
import { connectorContext, testIdentity } from "../testing/target-fixture.js";
import { attemptLogin, closeLogin, openLogin } from "./login.js";
import { nativePasswordHash } from "./sql.js";
import {
  type AdminAccount,
  canRead,
  createFullAdmin,
  dropAccounts,
  HOST,
  type MariadbFixture,
  mariadbAvailable,
  mariadbFixture,
  PORT,
  rootConnection,
  TARGET_ID,
} from "./testing/fixture.js";

const up = await mariadbAvailable();
const endpoint = { host: HOST, port: PORT, connectTimeoutMs: 3_000 };

describe.skipIf(!up)("mariadb admin secret rotation", () => {
  let root: Connection;
  let admin: AdminAccount;
  let f: MariadbFixture;

  beforeAll(async () => {
    root = await rootConnection();
    admin = await createFullAdmin(root);
    f = await mariadbFixture({ admin });
  });
  afterAll(async () => {
    await f?.cleanup();
    if (root) {
      await dropAccounts(root, [admin.user]);
      await root.end();
    }
  });

  const secretStore = () =>
    new AdminSecret({
      targetId: TARGET_ID,
      store: f.ctx.store,
      sealer: f.ctx.sealer,
      clock: f.ctx.clock,
      configured: admin.password,
    });

  const accepted = async (password: string) => (await attemptLogin(endpoint, admin.user, password)).accepted;

  async function issueAndRemove(connector = f.connector): Promise<void> {
    const grant = f.makeGrant();
    const response = await connector.issue({
      grant,
      identity: testIdentity,
      entitlement: f.entitlement,
      expiresAt: grant.expiresAt,
    });
    expect(await canRead(response.credential)).toBe(true);
    const active = activeGrant(grant, response);
    await connector.revoke({ grant: active });
    expect((await connector.verifyRemoved({ grant: active, probe: response.probe ?? null })).removed).toBe(true);
  }

  /** Steps as the connector's, but apply can be made to fail before or after the password changed. */
  function crashingSteps(when: "before" | "after"): RotationSteps {
    return {
      works: async (secret) => (await accepted(secret)) === true,
      apply: async (next, current) => {
        if (when === "before") throw new Error("broker died before the target changed");
        const connection = await openLogin(endpoint, admin.user, current);
        await connection.query(`SET PASSWORD = '${nativePasswordHash(next)}'`);
        await closeLogin(connection);
        throw new Error("broker died after the target changed");
      },
    };
  }

  it("rotates: the new password works, the old one is refused, and the broker keeps working", async () => {
    await issueAndRemove();
    const before = (await secretStore().current()).reveal();
    expect(before).toBe(admin.password);

    const result = await f.connector.rotateAdminSecret();
    expect(result.rotated).toBe(true);
    expect(result.detail).toMatch(/SET PASSWORD/);
    expect(result.detail).toMatch(/the old one is refused/);
    const after = (await secretStore().current()).reveal();
    expect(after).not.toBe(before);
    expect(result.detail).not.toContain(after);
    expect(result.detail).not.toContain(before);
    expect(await accepted(after)).toBe(true);
    expect(await accepted(before)).toBe(false);

    await issueAndRemove();
    // A connector started later from the same configuration (still naming the old password) uses the stored one.
    const restarted = f.connectorWith({});
    expect(await restarted.healthy()).toBe(true);
    await issueAndRemove(restarted);
  });

  it("a crash after the target took the new password settles to the new one on the next login", async () => {
    const before = (await secretStore().current()).reveal();
    await expect(secretStore().rotate(crashingSteps("after"))).rejects.toThrow(/after the target changed/);
    expect(await accepted(before)).toBe(false);

    const restarted = f.connectorWith({});
    expect(await restarted.healthy()).toBe(true);
    const settled = (await secretStore().current()).reveal();
    expect(settled).not.toBe(before);
    expect(await accepted(settled)).toBe(true);
    await issueAndRemove(restarted);
  });

  it("a crash before the target changed settles back to the old password", async () => {
    const before = (await secretStore().current()).reveal();
    await expect(secretStore().rotate(crashingSteps("before"))).rejects.toThrow(/before the target changed/);
    const restarted = f.connectorWith({});
    expect(await restarted.healthy()).toBe(true);
    expect((await secretStore().current()).reveal()).toBe(before);
    expect(await accepted(before)).toBe(true);
    // And a normal rotation still works after the recovery.
    expect((await restarted.rotateAdminSecret()).rotated).toBe(true);
    await issueAndRemove(restarted);
  });

  it("after another replica rotated, this replica's new connections log in with the new password, no restart", async () => {
    const other = f.connectorWith({});
    await issueAndRemove(other); // its pool is open, logged in with the password of the moment
    expect((await f.connector.rotateAdminSecret()).rotated).toBe(true);
    // Its open sessions survive the password change; end them, so it must log in again.
    const [sessions] = await root.query<import("mysql2").RowDataPacket[]>(
      "SELECT id FROM information_schema.processlist WHERE user = ?",
      [admin.user],
    );
    for (const s of sessions) await root.query(`KILL ${Number(s.id)}`).catch(() => undefined);
    await issueAndRemove(other);
    await other.close();
  });

  it("a wrong admin password fails issue with a code, never the password, and healthy says false", async () => {
    const wrong = f.connectorWith({ password: "not-the-password-123456" }, connectorContext());
    expect(await wrong.healthy()).toBe(false);
    const grant = f.makeGrant();
    const error = await wrong
      .issue({ grant, identity: testIdentity, entitlement: f.entitlement, expiresAt: grant.expiresAt })
      .catch((e: unknown) => e);
    expect(String(error)).toMatch(/^MariadbError: targets\.orders-db: .* failed with ER_ACCESS_DENIED_ERROR \(1045\)/);
    expect(`${String(error)} ${JSON.stringify(error)}`).not.toContain("not-the-password-123456");
  });
});
