// The rabbitmq connector against the real server: the contract, outages at issue and removal, discovery of admin users.
import { createServer, request as httpRequest, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeConnectorContract } from "../testing/contract.js";
import { connectorContext, entitlement, grantFor, testIdentity, uniqueName } from "../testing/target-fixture.js";
import { startTcpProxy } from "../testing/tcp-proxy.js";
import { createRabbitmqConnector } from "./index.js";
import {
  AMQP_PORT,
  allPermissions,
  api,
  connectionsOf,
  createVhost,
  deleteVhost,
  MANAGEMENT_URL,
  openSession,
  QUEUE_PERMISSIONS,
  rabbitmqAvailable,
  rabbitTarget,
  removeUsersWithPrefix,
  secretsOf,
  testPrefix,
  useCredential,
  userExists,
  usersWithPrefix,
  waitForConnections,
} from "./testing/rabbitmq-fixture.js";

const up = await rabbitmqAvailable();
const prefix = testPrefix();
const vhost = uniqueName("eph_vh_conn");
const TARGET = "mq";
const spec = entitlement(TARGET, "queues", { vhost, ...QUEUE_PERMISSIONS });
const managementPort = Number(new URL(MANAGEMENT_URL).port || 80);

beforeAll(async () => {
  if (up) await createVhost(vhost);
});
afterAll(async () => {
  if (!up) return;
  await removeUsersWithPrefix(prefix);
  await deleteVhost(vhost);
});

if (up) {
  describeConnectorContract("rabbitmq", async () => {
    const connector = createRabbitmqConnector(rabbitTarget(TARGET, prefix), connectorContext());
    return {
      connector,
      identity: testIdentity,
      entitlement: spec,
      makeGrant: () => grantFor(connector, spec),
      useCredential,
      openSession,
      secretsOf,
      cleanup: () => connector.close(),
    };
  });
}

/** An HTTP proxy to the management API that answers 503 to the requests `fails` picks, as a half-broken API would. */
async function faultyManagement(
  fails: (method: string, url: string) => boolean,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (fails(req.method ?? "", req.url ?? "")) {
      req.resume();
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "injected", reason: "test fault" }));
      return;
    }
    const upstream = httpRequest(
      { host: "127.0.0.1", port: managementPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, server };
}

describe.skipIf(!up)("rabbitmq connector", () => {
  const ctx = connectorContext();
  const connector = createRabbitmqConnector(rabbitTarget(TARGET, prefix), ctx);
  afterAll(() => connector.close());

  async function issue(settings: Record<string, unknown> = { vhost, ...QUEUE_PERMISSIONS }, c = connector) {
    const ent = entitlement(TARGET, "queues", settings);
    const grant = grantFor(c, ent);
    const response = await c.issue({ grant, identity: testIdentity, entitlement: ent, expiresAt: grant.expiresAt });
    return {
      grant: { ...grant, issuedAt: grant.createdAt, handleData: { ...grant.handleData, ...response.handleData } },
      response,
    };
  }

  it("makes one user with exactly the configured tags and one permission row on the vhost", async () => {
    const { grant, response } = await issue({ vhost, ...QUEUE_PERMISSIONS, tags: ["management"] });
    const user = await api("GET", `/users/${grant.handle}`);
    expect(user.body).toMatchObject({ name: grant.handle, tags: ["management"] });
    expect((await allPermissions()).filter((p) => p.user === grant.handle)).toEqual([
      { user: grant.handle, vhost, ...QUEUE_PERMISSIONS },
    ]);
    const fields = response.credential.fields.reveal();
    expect(fields).toMatchObject({ username: grant.handle, vhost, host: "127.0.0.1", port: String(AMQP_PORT) });
    expect(response.handleData).toEqual({ vhost });
    await connector.revoke({ grant });
  });

  it("defaults every permission to ^$ (nothing): the user can log in but not declare a queue", async () => {
    const { grant, response } = await issue({ vhost });
    expect((await allPermissions()).find((p) => p.user === grant.handle)).toMatchObject({
      configure: "^$",
      write: "^$",
      read: "^$",
    });
    expect(await useCredential(response.credential)).toBe(false);
    await connector.revoke({ grant });
    expect((await connector.verifyRemoved({ grant, probe: response.probe ?? null })).removed).toBe(true);
  });

  it("refuses a vhost that does not exist, leaving nothing behind", async () => {
    const ent = entitlement(TARGET, "queues", { vhost: uniqueName("eph_vh_missing") });
    const grant = grantFor(connector, ent);
    await expect(
      connector.issue({ grant, identity: testIdentity, entitlement: ent, expiresAt: grant.expiresAt }),
    ).rejects.toThrow(/entitlements\.queues\.vhost: no such vhost/);
    expect(await userExists(grant.handle)).toBe(false);
  });

  it("removes the user again when issue fails midway (permissions refused)", async () => {
    const faulty = await faultyManagement((method, url) => method === "PUT" && url.startsWith("/api/permissions/"));
    try {
      const c = createRabbitmqConnector(
        rabbitTarget(TARGET, prefix, { managementUrl: faulty.url }),
        connectorContext(),
      );
      const ent = entitlement(TARGET, "queues", { vhost, ...QUEUE_PERMISSIONS });
      const grant = grantFor(c, ent);
      await expect(
        c.issue({ grant, identity: testIdentity, entitlement: ent, expiresAt: grant.expiresAt }),
      ).rejects.toThrow(/PUT \/api\/permissions\/.* answered 503/);
      expect(await userExists(grant.handle)).toBe(false);
    } finally {
      faulty.server.close();
    }
  });

  it("issue with the management API unreachable rejects and leaves nothing in the target", async () => {
    const proxy = await startTcpProxy(managementPort);
    try {
      const managementUrl = `http://127.0.0.1:${proxy.port}`;
      const c = createRabbitmqConnector(rabbitTarget(TARGET, prefix, { managementUrl }), connectorContext());
      expect(await c.healthy()).toBe(true);
      const before = await usersWithPrefix(prefix);
      await proxy.cut();
      const ent = entitlement(TARGET, "queues", { vhost, ...QUEUE_PERMISSIONS });
      const grant = grantFor(c, ent);
      const failure = c.issue({ grant, identity: testIdentity, entitlement: ent, expiresAt: grant.expiresAt });
      await expect(failure).rejects.toThrow(/got no answer: ECONNREFUSED.*rabbitmq-plugins enable rabbitmq_management/);
      expect(await c.healthy()).toBe(false);
      expect(await userExists(grant.handle)).toBe(false);
      expect(await usersWithPrefix(prefix)).toEqual(before);
    } finally {
      await proxy.close();
    }
  });

  it("revoke with the management API unreachable rejects; once it is back, revoke and verifyRemoved succeed", async () => {
    const proxy = await startTcpProxy(managementPort);
    try {
      const managementUrl = `http://127.0.0.1:${proxy.port}`;
      const c = createRabbitmqConnector(rabbitTarget(TARGET, prefix, { managementUrl }), connectorContext());
      const { grant, response } = await issue({ vhost, ...QUEUE_PERMISSIONS }, c);
      const session = await openSession(response.credential);
      try {
        await proxy.cut();
        await expect(c.revoke({ grant })).rejects.toThrow(/ECONNREFUSED/);
        const blind = await c.verifyRemoved({ grant, probe: response.probe ?? null });
        expect(blind.removed).toBe(false);
        // The outage changed nothing downstream: the account and its session still work.
        expect(await userExists(grant.handle)).toBe(true);
        expect(await session.usable()).toBe(true);
        await proxy.restore();
        await c.revoke({ grant });
        expect(await session.usable()).toBe(false);
        const result = await c.verifyRemoved({ grant, probe: response.probe ?? null });
        expect(result.removed).toBe(true);
      } finally {
        await session.close();
      }
    } finally {
      await proxy.close();
    }
  });

  it("verifyRemoved does not claim removal when the AMQP port cannot be reached for the login probe", async () => {
    const amqpProxy = await startTcpProxy(AMQP_PORT);
    try {
      const c = createRabbitmqConnector(
        rabbitTarget(TARGET, prefix, { amqpUrl: `amqp://127.0.0.1:${amqpProxy.port}` }),
        connectorContext(),
      );
      const { grant, response } = await issue({ vhost, ...QUEUE_PERMISSIONS }, c);
      await c.revoke({ grant });
      await amqpProxy.cut();
      const result = await c.verifyRemoved({ grant, probe: response.probe ?? null });
      expect(result.removed).toBe(false);
      expect(result.evidence.checks.find((k) => k.check === "login.refused")).toMatchObject({
        passed: false,
        observed: expect.stringMatching(/could not be tried: ECONNREFUSED/),
      });
      await amqpProxy.restore();
      expect((await c.verifyRemoved({ grant, probe: response.probe ?? null })).removed).toBe(true);
    } finally {
      await amqpProxy.close();
    }
  });

  it("revoke closes connections the user had open, and the evidence says what it saw", async () => {
    const { grant, response } = await issue();
    const sessions = [await openSession(response.credential), await openSession(response.credential)];
    try {
      expect(await waitForConnections(grant.handle, 2)).toHaveLength(2);
      await connector.revoke({ grant });
      expect(await connectionsOf(grant.handle)).toEqual([]);
      for (const s of sessions) expect(await s.usable()).toBe(false);
      const { removed, evidence } = await connector.verifyRemoved({ grant, probe: response.probe ?? null });
      expect(removed).toBe(true);
      expect(evidence.checks.map((c) => c.check)).toEqual(["account.absent", "sessions.none", "login.refused"]);
      expect(evidence.checks[2]?.observed).toMatch(/403 ACCESS_REFUSED/);
    } finally {
      for (const s of sessions) await s.close();
    }
  });

  it("listAccounts reports an unmanaged administrator with its tags and permissions, and the broker's own login", async () => {
    const name = `${prefix}root`; // the prefix for cleanup, but not an account name the broker makes
    await api("PUT", `/users/${name}`, { password: "unmanaged-password-1", tags: "administrator,monitoring" });
    await api("PUT", `/permissions/${encodeURIComponent(vhost)}/${name}`, {
      configure: ".*",
      write: ".*",
      read: ".*",
    });
    try {
      const accounts = await connector.listAccounts();
      expect(accounts.find((a) => a.handle === name)).toEqual({
        handle: name,
        managed: false,
        expiresAt: null,
        admin: true,
        privileges: ["tag: administrator", "tag: monitoring", `vhost ${vhost}: configure '.*' write '.*' read '.*'`],
      });
      expect(accounts.find((a) => a.handle === "guest")).toMatchObject({ broker: true, admin: true, managed: false });
      await expect(connector.removeAccount(name)).rejects.toThrow(/not managed/);
      await expect(connector.removeAccount("guest")).rejects.toThrow(/not managed/);
      expect(await userExists(name)).toBe(true);
    } finally {
      await api("DELETE", `/users/${name}`);
    }
  });

  it("renew keeps the password and fails for a user that vanished", async () => {
    const { grant, response } = await issue();
    const renewed = await connector.renew({
      grant,
      identity: testIdentity,
      entitlement: spec,
      expiresAt: grant.expiresAt,
    });
    expect(renewed).toEqual({ credential: null, handleData: {} });
    expect(await useCredential(response.credential)).toBe(true);
    await connector.revoke({ grant });
    await expect(
      connector.renew({ grant, identity: testIdentity, entitlement: spec, expiresAt: grant.expiresAt }),
    ).rejects.toThrow(/no longer exists/);
  });

  it("refuses to issue for a handle outside its prefix, and to revoke the broker's own login", async () => {
    const grant = { ...grantFor(connector, spec), handle: "guest" };
    await expect(
      connector.issue({ grant, identity: testIdentity, entitlement: spec, expiresAt: grant.expiresAt }),
    ).rejects.toThrow(/not an account name/);
    await expect(connector.revoke({ grant })).rejects.toThrow(/refusing to remove/);
    expect(await userExists("guest")).toBe(true);
  });

  it("is unusable after close", async () => {
    const c = createRabbitmqConnector(rabbitTarget(TARGET, prefix), connectorContext());
    expect(await c.healthy()).toBe(true);
    await c.close();
    expect(await c.healthy()).toBe(false);
    await expect(c.listAccounts()).rejects.toThrow(/closed/);
  });
});
