// What the RabbitMQ connector tests share: the real server's addresses, a root API for setup, and AMQP sessions.
import { type Channel, type ChannelModel, type ConfirmChannel, connect } from "amqplib";
import { randomToken } from "../../../support/ids.js";
import type { IssuedCredential } from "../../connector.js";
import type { TargetSpec } from "../../context.js";
import type { OpenSession } from "../../testing/contract.js";
import { portOpen, requireService } from "../../testing/services.js";

export const MANAGEMENT_URL = process.env.EPHEMERA_TEST_RABBITMQ_MANAGEMENT_URL ?? "http://127.0.0.1:15672";
export const AMQP_PORT = Number(process.env.EPHEMERA_TEST_RABBITMQ_AMQP_PORT ?? 5672);
export const AMQP_URL = `amqp://127.0.0.1:${AMQP_PORT}`;
/** The machine's own administrator, used only to set up and inspect; tests never change it. */
const ROOT_USER = process.env.EPHEMERA_TEST_RABBITMQ_USER ?? "guest";
const ROOT_PASSWORD = process.env.EPHEMERA_TEST_RABBITMQ_PASSWORD ?? "guest";

export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/** A management API call as `user` (the root user by default); path segments are the caller's to encode. */
export async function api(
  method: string,
  path: string,
  body?: unknown,
  login: { user: string; password: string } = { user: ROOT_USER, password: ROOT_PASSWORD },
): Promise<Answer> {
  const response = await fetch(`${MANAGEMENT_URL}/api${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${login.user}:${login.password}`).toString("base64")}`,
      "content-type": "application/json",
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as unknown) : null };
}

const enc = encodeURIComponent;

/** The gate of every RabbitMQ test file: the management API answers and the AMQP port is open. */
export function rabbitmqAvailable(): Promise<boolean> {
  return requireService("rabbitmq", async () => {
    let answer: Answer;
    try {
      answer = await api("GET", "/overview");
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      if (code === "ECONNREFUSED") {
        throw new Error(
          `the management API at ${MANAGEMENT_URL} refused the connection; enable it with \`rabbitmq-plugins enable rabbitmq_management\``,
        );
      }
      throw error;
    }
    if (answer.status !== 200) throw new Error(`GET ${MANAGEMENT_URL}/api/overview answered ${answer.status}`);
    if (!(await portOpen(AMQP_PORT))) throw new Error(`nothing listens for AMQP on 127.0.0.1:${AMQP_PORT}`);
    return true;
  });
}

/** A prefix of this test file's accounts, unique per run: `eph_t<6 random>_`. */
export function testPrefix(): string {
  return `eph_t${randomToken(6)}_`;
}

export async function createVhost(name: string): Promise<void> {
  const answer = await api("PUT", `/vhosts/${enc(name)}`, {});
  if (answer.status !== 201 && answer.status !== 204) throw new Error(`vhost ${name}: ${answer.status}`);
}

export async function deleteVhost(name: string): Promise<void> {
  await api("DELETE", `/vhosts/${enc(name)}`);
}

export async function userNames(): Promise<string[]> {
  const answer = await api("GET", "/users");
  return (answer.body as { name: string }[]).map((u) => u.name);
}

export async function usersWithPrefix(prefix: string): Promise<string[]> {
  return (await userNames()).filter((name) => name.startsWith(prefix)).sort();
}

export async function removeUsersWithPrefix(prefix: string): Promise<void> {
  for (const name of await usersWithPrefix(prefix)) await api("DELETE", `/users/${enc(name)}`);
}

export async function userExists(name: string): Promise<boolean> {
  return (await api("GET", `/users/${enc(name)}`)).status === 200;
}

export interface PermissionRow {
  readonly user: string;
  readonly vhost: string;
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

export async function allPermissions(): Promise<PermissionRow[]> {
  return (await api("GET", "/permissions")).body as PermissionRow[];
}

export async function connectionsOf(user: string): Promise<string[]> {
  const answer = await api("GET", `/connections/username/${enc(user)}`);
  return (answer.body as { name: string }[]).map((c) => c.name);
}

/** Waits (bounded) until the management statistics list `count` connections of `user`. */
export async function waitForConnections(user: string, count: number, ms = 3_000): Promise<string[]> {
  const started = Date.now();
  for (;;) {
    const open = await connectionsOf(user);
    if (open.length === count || Date.now() - started > ms) return open;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function rabbitTarget(id: string, prefix: string, overrides: Record<string, unknown> = {}): TargetSpec {
  return {
    id,
    type: "rabbitmq",
    settings: {
      managementUrl: MANAGEMENT_URL,
      amqpUrl: AMQP_URL,
      username: ROOT_USER,
      password: ROOT_PASSWORD,
      prefix,
      ...overrides,
    },
  };
}

/** Permissions that let a credential declare, publish to and read its own `eph_q.*` queues, and nothing else. */
export const QUEUE_PERMISSIONS = {
  configure: "^eph_q\\..*",
  write: "^(amq\\.default|eph_q\\..*)$",
  read: "^eph_q\\..*",
} as const;

function fieldsOf(credential: IssuedCredential): Record<string, string> {
  return { ...credential.fields.reveal() };
}

export function secretsOf(credential: IssuedCredential): string[] {
  const fields = fieldsOf(credential);
  return [fields.password ?? "", fields.url ?? ""].filter((s) => s.length > 0);
}

/** An AMQP connection with the credential's URL; errors of a forced close are swallowed (tests look at `closed`). */
export async function connectWith(credential: IssuedCredential): Promise<ChannelModel> {
  const url = fieldsOf(credential).url;
  if (!url) throw new Error("credential has no url");
  const model = await connect(url, { noDelay: true, timeout: 5_000 });
  model.on("error", () => {});
  return model;
}

async function within<T>(ms: number, run: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    run,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function quiet<T extends Channel>(channel: T): T {
  channel.on("error", () => {});
  return channel;
}

/** A real use of the credential: log in, declare an exclusive queue of its own, publish to it (confirmed). */
export async function useCredential(credential: IssuedCredential): Promise<boolean> {
  let model: ChannelModel | null = null;
  try {
    model = await connectWith(credential);
    const channel = quiet(await model.createConfirmChannel());
    const queue = `eph_q.${randomToken(8)}`;
    await within(3_000, channel.assertQueue(queue, { exclusive: true }));
    channel.sendToQueue(queue, Buffer.from("ping"));
    await within(3_000, channel.waitForConfirms());
    return true;
  } catch {
    return false;
  } finally {
    await model?.close().catch(() => {});
  }
}

/** A session kept open: `usable` publishes through it and waits for the broker's confirm. */
export async function openSession(credential: IssuedCredential): Promise<OpenSession & { channel: ConfirmChannel }> {
  const model = await connectWith(credential);
  const channel = quiet(await model.createConfirmChannel());
  const queue = `eph_q.${randomToken(8)}`;
  await channel.assertQueue(queue, { exclusive: true });
  return {
    channel,
    async usable() {
      try {
        channel.sendToQueue(queue, Buffer.from("ping"));
        await within(3_000, channel.waitForConfirms());
        await within(3_000, channel.checkQueue(queue));
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await model.close().catch(() => {});
    },
  };
}
