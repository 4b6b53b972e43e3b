// What this RabbitMQ does, measured: why revoke is DELETE /api/users and not a permission or password change, and why
// the prefix is the only marker. Each test is one fact the connector's design rests on.
import { type ChannelModel, connect } from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../testing/target-fixture.js";
import { tryAmqpLogin } from "./amqp-login.js";
import { isPermissionPattern } from "./settings.js";
import {
  AMQP_PORT,
  allPermissions,
  api,
  connectionsOf,
  createVhost,
  deleteVhost,
  rabbitmqAvailable,
  removeUsersWithPrefix,
  testPrefix,
  waitForConnections,
} from "./testing/rabbitmq-fixture.js";

const up = await rabbitmqAvailable();
const prefix = testPrefix();
const vhost = uniqueName("eph_vh_facts");
const PASSWORD = "fact-password-0123456789";
const ALL = { configure: ".*", write: ".*", read: ".*" };
const endpoint = { protocol: "amqp", hostname: "127.0.0.1", port: AMQP_PORT } as const;

beforeAll(async () => {
  if (up) await createVhost(vhost);
});
afterAll(async () => {
  if (!up) return;
  await removeUsersWithPrefix(prefix);
  await deleteVhost(vhost);
});

let users = 0;
/** A user of this file with every permission on its vhost. */
async function makeUser(): Promise<string> {
  const name = `${prefix}u${users++}`;
  expect((await api("PUT", `/users/${name}`, { password: PASSWORD, tags: "" })).status).toBe(201);
  expect((await api("PUT", `/permissions/${encodeURIComponent(vhost)}/${name}`, ALL)).status).toBe(201);
  return name;
}

interface Live {
  readonly model: ChannelModel;
  /** Set when the server closes the connection, with its reason. */
  closedBy: string | null;
}

async function login(user: string): Promise<Live> {
  const model = await connect(
    { protocol: "amqp", hostname: "127.0.0.1", port: AMQP_PORT, username: user, password: PASSWORD, vhost },
    { noDelay: true, timeout: 5_000 },
  );
  const live: Live = { model, closedBy: null };
  model.on("error", () => {});
  model.on("close", (error?: Error) => {
    live.closedBy = error ? error.message : "closed";
  });
  return live;
}

async function until(done: () => boolean, ms: number): Promise<number> {
  const started = Date.now();
  while (!done() && Date.now() - started < ms) await new Promise((resolve) => setTimeout(resolve, 10));
  return Date.now() - started;
}

/** Messages in `queue`, counted by a second user over AMQP (the management statistics lag by seconds). */
async function messagesIn(queue: string, counter: Live): Promise<number> {
  const channel = await counter.model.createChannel();
  try {
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await channel.close();
  }
}

describe.skipIf(!up)("measured facts of RabbitMQ (why the connector removes access the way it does)", () => {
  it("deleting a user closes its open connections at once (320 CONNECTION_FORCED), and takes its permissions", async () => {
    const user = await makeUser();
    const live = await login(user);
    try {
      expect(await waitForConnections(user, 1)).toHaveLength(1);
      expect((await api("DELETE", `/users/${user}`)).status).toBe(204);
      const ms = await until(() => live.closedBy !== null, 3_000);
      expect(live.closedBy).toMatch(/320 \(CONNECTION-FORCED\).*user '.*' is deleted/);
      expect(ms).toBeLessThan(3_000);
      expect(await waitForConnections(user, 0)).toEqual([]);
      expect((await allPermissions()).filter((p) => p.user === user)).toEqual([]);
    } finally {
      await live.model.close().catch(() => {});
    }
  });

  it("clearing a user's permissions leaves its connection open, and an open channel keeps publishing (checks are cached)", async () => {
    const user = await makeUser();
    const counter = await login(await makeUser());
    const live = await login(user);
    try {
      const channel = await live.model.createConfirmChannel();
      channel.on("error", () => {});
      const queue = `q_${user}`;
      await channel.assertQueue(queue);
      channel.sendToQueue(queue, Buffer.from("before"));
      await channel.waitForConfirms();

      expect((await api("DELETE", `/permissions/${encodeURIComponent(vhost)}/${user}`)).status).toBe(204);
      expect((await allPermissions()).filter((p) => p.user === user)).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (let i = 0; i < 3; i++) channel.sendToQueue(queue, Buffer.from("after"));
      await channel.waitForConfirms();

      expect(live.closedBy).toBeNull();
      expect(await connectionsOf(user)).toHaveLength(1);
      expect(await messagesIn(queue, counter)).toBe(4);
    } finally {
      await live.model.close().catch(() => {});
      await counter.model.close().catch(() => {});
    }
  });

  it("changing a user's password leaves its connection open and publishing", async () => {
    const user = await makeUser();
    const counter = await login(await makeUser());
    const live = await login(user);
    try {
      const channel = await live.model.createConfirmChannel();
      const queue = `q_${user}`;
      await channel.assertQueue(queue);
      expect((await api("PUT", `/users/${user}`, { password: "another-password-987654", tags: "" })).status).toBe(204);
      await new Promise((resolve) => setTimeout(resolve, 300));
      channel.sendToQueue(queue, Buffer.from("after"));
      await channel.waitForConfirms();
      expect(live.closedBy).toBeNull();
      expect(await messagesIn(queue, counter)).toBe(1);
      const refused = await tryAmqpLogin(endpoint, user, PASSWORD, vhost, 5_000);
      expect(refused.accepted).toBe(false);
    } finally {
      await live.model.close().catch(() => {});
      await counter.model.close().catch(() => {});
    }
  });

  it("a login as a deleted user is refused in the handshake with 403 ACCESS_REFUSED, and the text carries no secret", async () => {
    const user = await makeUser();
    expect(await tryAmqpLogin(endpoint, user, PASSWORD, vhost, 5_000)).toEqual({ accepted: true });
    await api("DELETE", `/users/${user}`);
    const outcome = await tryAmqpLogin(endpoint, user, PASSWORD, vhost, 5_000);
    expect(outcome).toMatchObject({ accepted: false, refusal: expect.stringMatching(/403 ACCESS_REFUSED/) });
    expect(JSON.stringify(outcome)).not.toContain(PASSWORD);
  });

  it("a user with the right password but no access to the vhost gets 530 NOT_ALLOWED: the password was accepted", async () => {
    const user = await makeUser();
    await api("DELETE", `/permissions/${encodeURIComponent(vhost)}/${user}`);
    expect(await tryAmqpLogin(endpoint, user, PASSWORD, vhost, 5_000)).toEqual({ accepted: true });
  });

  it("PUT /api/users accepts extra properties and drops them: a user has no comment field, so the prefix is the marker", async () => {
    const name = `${prefix}marker`;
    const answer = await api("PUT", `/users/${name}`, {
      password: PASSWORD,
      tags: "",
      comment: "made by ephemera",
      managed_by: "ephemera",
    });
    expect(answer.status).toBe(201);
    const user = (await api("GET", `/users/${name}`)).body as Record<string, unknown>;
    expect(Object.keys(user).sort()).toEqual(["hashing_algorithm", "limits", "name", "password_hash", "tags"]);
    expect(JSON.stringify(user)).not.toContain("ephemera");
  });

  it("tags are free text (an unknown tag is stored as given), so a tag could mark accounts but would show as a privilege", async () => {
    const name = `${prefix}tagged`;
    await api("PUT", `/users/${name}`, { password: PASSWORD, tags: "ephemera-managed,management" });
    expect((await api("GET", `/users/${name}`)).body).toMatchObject({ tags: ["ephemera-managed", "management"] });
  });

  it("PUT /api/users rewrites password and tags but keeps the user's limits (admin rotation relies on it)", async () => {
    const name = `${prefix}limited`;
    await api("PUT", `/users/${name}`, { password: PASSWORD, tags: "administrator" });
    expect((await api("PUT", `/user-limits/${name}/max-connections`, { value: 7 })).status).toBe(204);
    await api("PUT", `/users/${name}`, { password: "rotated-password-55555", tags: "administrator" });
    expect((await api("GET", `/users/${name}`)).body).toMatchObject({
      tags: ["administrator"],
      limits: { "max-connections": 7 },
    });
  });

  it("RabbitMQ refuses a permission its PCRE cannot compile (400 invalid_regexp), and so does validation", async () => {
    const name = await makeUser();
    for (const pattern of ["(", "\\c", "(?<=a+)b", "\\u0041", "[[:alpha:]", "[]a"]) {
      const answer = await api("PUT", `/permissions/${encodeURIComponent(vhost)}/${name}`, { ...ALL, read: pattern });
      expect(answer.status, pattern).toBe(400);
      expect(JSON.stringify(answer.body), pattern).toContain("invalid_regexp");
      expect(isPermissionPattern(pattern), pattern).toBe(false);
    }
  });

  it("PUT /api/permissions on a vhost that does not exist answers 400 vhost_or_user_not_found", async () => {
    const name = await makeUser();
    const answer = await api("PUT", `/permissions/${uniqueName("eph_vh_none")}/${name}`, ALL);
    expect(answer).toEqual({ status: 400, body: { error: "bad_request", reason: "vhost_or_user_not_found" } });
  });

  it("the management API lists a new connection by user within moments (bounded polling suffices)", async () => {
    const user = await makeUser();
    const started = Date.now();
    const live = await login(user);
    try {
      expect(await waitForConnections(user, 1)).toHaveLength(1);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await live.model.close();
    }
  });
});
