// Admin secret rotation on the real server, with an administrator the test makes (guest is never touched): the new
// password works, the old one is refused, the broker keeps working, and a rotation cut short settles to a working one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminSecret, type RotationSteps } from "../support/admin-secret.js";
import { connectorContext, entitlement, grantFor, testIdentity, uniqueName } from "../testing/target-fixture.js";
import { rotationSteps } from "./admin-rotation.js";
import { createRabbitmqConnector } from "./index.js";
import { ManagementApi } from "./management-api.js";
import {
  api,
  createVhost,
  deleteVhost,
  MANAGEMENT_URL,
  QUEUE_PERMISSIONS,
  rabbitmqAvailable,
  rabbitTarget,
  removeUsersWithPrefix,
  testPrefix,
  useCredential,
} from "./testing/rabbitmq-fixture.js";

const up = await rabbitmqAvailable();
const prefix = testPrefix();
const vhost = uniqueName("eph_vh_rot");
const INITIAL = "initial-admin-password-42";

beforeAll(async () => {
  if (up) await createVhost(vhost);
});
afterAll(async () => {
  if (!up) return;
  await removeUsersWithPrefix(prefix);
  await deleteVhost(vhost);
});

async function whoami(user: string, password: string): Promise<number> {
  return (await api("GET", "/whoami", undefined, { user, password })).status;
}

describe.skipIf(!up)("rabbitmq admin secret rotation", () => {
  let adminUser = "";
  let n = 0;

  /** A fresh administrator for one test, and a connector (with its own store) logging in as it. */
  async function setup() {
    adminUser = `${prefix}admin${n++}`;
    expect((await api("PUT", `/users/${adminUser}`, { password: INITIAL, tags: "administrator" })).status).toBe(201);
    const ctx = connectorContext();
    const targetId = `mq${n}`;
    const connector = createRabbitmqConnector(
      rabbitTarget(targetId, prefix, { username: adminUser, password: INITIAL }),
      ctx,
    );
    const secret = new AdminSecret({
      targetId,
      store: ctx.store,
      sealer: ctx.sealer,
      clock: ctx.clock,
      configured: INITIAL,
    });
    const managementApi = new ManagementApi({
      targetId,
      baseUrl: new URL(MANAGEMENT_URL),
      timeoutMs: 5_000,
      maxConcurrent: 2,
    });
    const steps = rotationSteps(managementApi, adminUser);
    const spec = entitlement(targetId, "queues", { vhost, ...QUEUE_PERMISSIONS });
    /** Issue, use, revoke and verify one grant: the broker still does its work. */
    async function brokerWorks(): Promise<boolean> {
      const grant = grantFor(connector, spec);
      const issued = await connector.issue({
        grant,
        identity: testIdentity,
        entitlement: spec,
        expiresAt: grant.expiresAt,
      });
      const used = await useCredential(issued.credential);
      await connector.revoke({ grant });
      const { removed } = await connector.verifyRemoved({
        grant: { ...grant, issuedAt: grant.createdAt, handleData: { ...grant.handleData, ...issued.handleData } },
        probe: issued.probe ?? null,
      });
      return used && removed;
    }
    return { connector, secret, steps, brokerWorks, store: ctx.store };
  }

  it("rotates: the new password works, the old one is refused, the broker keeps working, tags are kept", async () => {
    const { connector, secret, brokerWorks, store } = await setup();
    expect(await brokerWorks()).toBe(true);
    const result = await connector.rotateAdminSecret();
    const next = (await secret.current()).reveal();
    expect(next).not.toBe(INITIAL);
    expect(result).toMatchObject({ rotated: true, detail: expect.stringMatching(/old one is refused/) });
    expect(JSON.stringify(result)).not.toContain(next);
    expect(JSON.stringify(result)).not.toContain(INITIAL);
    expect(JSON.stringify(await store.listAudit(0, 100))).not.toContain(next);
    expect(await whoami(adminUser, next)).toBe(200);
    expect(await whoami(adminUser, INITIAL)).toBe(401);
    expect((await api("GET", `/users/${adminUser}`)).body).toMatchObject({ tags: ["administrator"] });
    expect(await connector.healthy()).toBe(true);
    expect(await brokerWorks()).toBe(true);
    // A second rotation starts from the rotated secret.
    await connector.rotateAdminSecret();
    expect(await whoami(adminUser, next)).toBe(401);
    expect(await brokerWorks()).toBe(true);
  });

  it("a crash after RabbitMQ took the new password settles to it, and the connector recovers on its own", async () => {
    const { connector, secret, steps, brokerWorks } = await setup();
    const crashing: RotationSteps = {
      ...steps,
      async apply(next, current) {
        await steps.apply(next, current);
        throw new Error("simulated crash after the target took the new password");
      },
    };
    await expect(secret.rotate(crashing)).rejects.toThrow(/simulated crash/);
    // The store still names the old password current; RabbitMQ only takes the pending one now.
    expect(await whoami(adminUser, INITIAL)).toBe(401);
    // The connector's next call is refused, settles the rotation and goes on with the pending secret.
    expect(await connector.healthy()).toBe(true);
    const settled = (await secret.settle(steps)).reveal();
    expect(settled).not.toBe(INITIAL);
    expect(await whoami(adminUser, settled)).toBe(200);
    expect(await brokerWorks()).toBe(true);
  });

  it("a crash before RabbitMQ took the new password settles to the old one", async () => {
    const { secret, steps, brokerWorks } = await setup();
    const crashing: RotationSteps = {
      ...steps,
      async apply() {
        throw new Error("simulated crash before the target changed");
      },
    };
    await expect(secret.rotate(crashing)).rejects.toThrow(/simulated crash/);
    const settled = (await secret.settle(steps)).reveal();
    expect(settled).toBe(INITIAL);
    expect(await whoami(adminUser, INITIAL)).toBe(200);
    expect(await brokerWorks()).toBe(true);
  });
});
