// RabbitMQ connector benchmark: broker-path issue and proven removal beside the management API calls an operator would make.
import { performance } from "node:perf_hooks";
import { connect } from "amqplib";
import type { EntitlementSpec } from "../../src/connectors/connector.js";
import { createRabbitmqConnector } from "../../src/connectors/rabbitmq/index.js";
import { randomToken } from "../../src/support/ids.js";
import { benchContext, benchIdentity, expectRemoved, since, timedIssue, timedRemoval } from "./context.js";
import type { ConnectorBench } from "./types.js";

const TARGET = "bench-mq";

/**
 * The RabbitMQ to measure: `EPHEMERA_BENCH_RABBITMQ_MANAGEMENT_URL`, `EPHEMERA_BENCH_RABBITMQ_AMQP_URL` (no
 * credentials in either), `EPHEMERA_BENCH_RABBITMQ_USER` and `EPHEMERA_BENCH_RABBITMQ_PASSWORD` (an administrator).
 */
const MANAGEMENT_URL = process.env.EPHEMERA_BENCH_RABBITMQ_MANAGEMENT_URL ?? "http://127.0.0.1:15672";
const AMQP_URL = process.env.EPHEMERA_BENCH_RABBITMQ_AMQP_URL ?? "amqp://127.0.0.1:5672";
const ADMIN_USER = process.env.EPHEMERA_BENCH_RABBITMQ_USER ?? "guest";
const ADMIN_PASSWORD = process.env.EPHEMERA_BENCH_RABBITMQ_PASSWORD ?? "guest";

const identity = benchIdentity();

const PERMISSIONS = { configure: "^bench\\..*", write: "^(amq\\.default|bench\\..*)$", read: "^bench\\..*" };

/** One management call as the administrator, on fetch's kept-alive connection (what `curl` in a loop would cost more). */
async function raw(method: string, path: string, body?: unknown): Promise<number> {
  const response = await fetch(`${MANAGEMENT_URL}/api${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${ADMIN_USER}:${ADMIN_PASSWORD}`).toString("base64")}`,
      "content-type": "application/json",
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  await response.arrayBuffer();
  return response.status;
}

async function expectStatus(ok: readonly number[], method: string, path: string, body?: unknown): Promise<void> {
  const status = await raw(method, path, body);
  if (!ok.includes(status)) throw new Error(`rabbitmq bench: ${method} /api${path} answered ${status}`);
}

export async function runRabbitmqBench(iterations: number): Promise<ConnectorBench> {
  const { ctx, close } = await benchContext("rabbitmq");
  const prefix = `eph_b${randomToken(6)}_`;
  const vhost = `eph_bench_${randomToken(8)}`;
  const connector = createRabbitmqConnector(
    {
      id: TARGET,
      type: "rabbitmq",
      settings: {
        managementUrl: MANAGEMENT_URL,
        amqpUrl: AMQP_URL,
        username: ADMIN_USER,
        password: ADMIN_PASSWORD,
        prefix,
      },
    },
    ctx,
  );
  const spec: EntitlementSpec = {
    name: `${TARGET}/queues`,
    targetId: TARGET,
    defaultDurationSeconds: 300,
    maxDurationSeconds: 3600,
    risk: "low",
    settings: { vhost, ...PERMISSIONS },
  };
  connector.validateEntitlement(spec);
  const amqp = new URL(AMQP_URL);

  const result = {
    issue: [] as number[],
    removal: [] as number[],
    rawIssue: [] as number[],
    rawRemoval: [] as number[],
    revoke: [] as number[],
    verify: [] as number[],
    login: [] as number[],
  };
  const v = encodeURIComponent(vhost);
  try {
    await expectStatus([201, 204], "PUT", `/vhosts/${v}`, {});
    for (let i = 0; i < iterations; i += 1) {
      const { issued, grant, issueMs } = await timedIssue(connector, spec, identity);
      result.issue.push(issueMs);

      // One real login with the credential, as a client would make it (noDelay: the connector's probe does the same).
      const fields = issued.credential.fields.reveal();
      let start = performance.now();
      const model = await connect(
        {
          protocol: amqp.protocol.replace(":", ""),
          hostname: amqp.hostname,
          port: Number(amqp.port || 5672),
          username: fields.username ?? "",
          password: fields.password ?? "",
          vhost,
        },
        { noDelay: true, timeout: 5_000 },
      );
      result.login.push(since(start));
      model.on("error", () => {});
      await model.close();

      const removal = await timedRemoval(connector, grant, issued);
      result.removal.push(removal.removalMs);
      result.revoke.push(removal.revokeMs);
      result.verify.push(removal.verifyMs);
      expectRemoved(connector, grant, removal);

      const user = encodeURIComponent(`${prefix}raw${i}`);
      start = performance.now();
      await expectStatus([201, 204], "PUT", `/users/${user}`, { password: randomToken(32), tags: "" });
      await expectStatus([201, 204], "PUT", `/permissions/${v}/${user}`, PERMISSIONS);
      result.rawIssue.push(since(start));
      start = performance.now();
      await expectStatus([204, 404], "DELETE", `/users/${user}`);
      result.rawRemoval.push(since(start));
    }
  } finally {
    const accounts = await connector.listAccounts().catch(() => []);
    for (const account of accounts) {
      if (account.handle.startsWith(prefix)) await raw("DELETE", `/users/${encodeURIComponent(account.handle)}`);
    }
    await raw("DELETE", `/vhosts/${v}`).catch(() => 0);
    await connector.close();
    await close();
  }

  return {
    connector: "rabbitmq",
    issue: result.issue,
    removal: result.removal,
    rawIssue: result.rawIssue,
    rawIssueLabel: "PUT /api/users/<user> + PUT /api/permissions/<vhost>/<user> (one kept-alive HTTP connection)",
    rawRemoval: result.rawRemoval,
    rawRemovalLabel: "DELETE /api/users/<user> (no proof: no user lookup, connection list or login probe)",
    extra: {
      "revoke (DELETE user + connection check)": result.revoke,
      "verifyRemoved (GET user + GET connections + AMQP login refused)": result.verify,
      "AMQP login with the issued credential (noDelay)": result.login,
    },
  };
}
