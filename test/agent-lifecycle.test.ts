// The agent's lifecycle as a real process and in-process: SIGTERM ends and verifies every grant within 2 s, kill -9
// leaves grants that end at their expiry, an approval is waited for and collected, a broker outage keeps the current
// credential and reports unhealthy until the broker is back, and a bad config is refused naming the path.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { run } from "../src/cli/testing/run-cli.js";
import { EphemeraClient, type Grant, withAccess } from "../src/client/index.js";
import {
  type AgentBroker,
  agentServicesUp,
  execEnv,
  keyAgentConfig,
  startAgentBroker,
  startKeyAgent,
} from "./support/agent-broker.js";
import { freePort } from "./support/process-broker.js";

const CLI = resolve(fileURLToPath(new URL("../bin/ephemera.js", import.meta.url)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const up = await agentServicesUp();

async function until<T>(
  what: string,
  check: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe.skipIf(!up)("agent lifecycle", () => {
  let env: AgentBroker;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    env = await startAgentBroker();
  });
  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await env?.close();
  });

  function writeConfig(name: string, credentials: Record<string, unknown>): string {
    const path = join(env.dir, `${name}.yaml`);
    writeFileSync(
      path,
      stringify({
        broker: { url: env.url },
        auth: { type: "api-key", key: { env: "AGENT_KEY" } },
        credentials,
        logging: { level: "warn" },
      }),
    );
    return path;
  }

  function spawnAgent(config: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
    let output = "";
    const child = spawn(process.execPath, [CLI, "agent", "--config", config], {
      env: { PATH: process.env.PATH ?? "", AGENT_KEY: env.keys.agent },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    child.stdout?.on("data", (c) => (output += String(c)));
    child.stderr?.on("data", (c) => (output += String(c)));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    return { child, output: () => output, exited };
  }

  const grantIdIn = (path: string): string | null => {
    if (!existsSync(path)) return null;
    const text = readFileSync(path, "utf8");
    return text.startsWith("{")
      ? (JSON.parse(text) as { grantId: string }).grantId
      : (/^EPHEMERA_GRANT_ID='([^']+)'/m.exec(text)?.[1] ?? null);
  };

  it("SIGTERM: every grant is completed and its removal verified within 2 s, and the sinks are removed", async () => {
    const sinks = {
      orders: join(env.dir, "t-pg.json"),
      cache: join(env.dir, "t-redis.env"),
      api: join(env.dir, "t-api.env"),
    };
    const config = writeConfig("sigterm", {
      orders: { entitlement: "orders/read", sink: { path: sinks.orders, format: "json" } },
      cache: { entitlement: "cache/rw", sink: { path: sinks.cache } },
      api: { entitlement: "demo-api/read", sink: { path: sinks.api } },
    });
    const agent = spawnAgent(config);
    const ids = await until("every sink", () => {
      const found = Object.values(sinks).map(grantIdIn);
      return found.every((id) => id !== null) ? (found as string[]) : null;
    });
    const t0 = Date.now();
    agent.child.kill("SIGTERM");
    expect(await agent.exited, agent.output()).toBe(0);
    for (const id of ids) {
      const grant = await env.admin.getGrant(id);
      expect([grant.state, grant.removed, grant.endReason]).toEqual(["verified", true, "completed"]);
      expect(Date.parse(grant.verifiedAt ?? "") - t0).toBeLessThanOrEqual(2_000);
    }
    for (const path of Object.values(sinks)) expect(existsSync(path)).toBe(false);
  });

  it("kill -9: the grants it held simply end at their expiry (the broker's guarantee)", async () => {
    const sinks = { orders: join(env.dir, "k-pg.json"), api: join(env.dir, "k-api.env") };
    const config = writeConfig("kill9", {
      orders: { entitlement: "orders/read", duration: "3s", sink: { path: sinks.orders, format: "json" } },
      api: { entitlement: "demo-api/read", duration: "3s", sink: { path: sinks.api } },
    });
    const agent = spawnAgent(config);
    const ids = await until("every sink", () => {
      const found = Object.values(sinks).map(grantIdIn);
      return found.every((id) => id !== null) ? (found as string[]) : null;
    });
    agent.child.kill("SIGKILL");
    await agent.exited;
    for (const id of ids) {
      const grant: Grant = await until(`${id} to end`, async () => {
        const g = await env.admin.getGrant(id);
        return g.state === "verified" ? g : null;
      });
      expect(grant.endReason).toBe("expired");
      expect(Date.parse(grant.verifiedAt ?? "") - Date.parse(grant.expiresAt ?? "")).toBeLessThanOrEqual(5_000);
    }
  });

  it("--once: every sink is written, the agent exits 0 and the grant is left to expire", async () => {
    const sink = join(env.dir, "once.json");
    const config = keyAgentConfig(env, "once", {
      credentials: { api: { entitlement: "demo-api/read", duration: "5m", sink: { path: sink, format: "json" } } },
    });
    const agent = await startKeyAgent(env, config, { once: true });
    expect(await agent.done).toBe(0);
    const grantId = grantIdIn(sink) ?? "";
    const grant = await env.admin.getGrant(grantId);
    expect(grant.state).toBe("active");
    await env.admin.revoke(grantId, "test cleanup");
  });

  it("approval: the agent waits (unhealthy, request id in /healthz), an approver approves, the sink appears", async () => {
    const sink = join(env.dir, "gated.env");
    const config = keyAgentConfig(env, "approval", {
      credentials: { gated: { entitlement: "demo-api/write", justification: "deploy", sink: { path: sink } } },
      renewal: { retryInitial: "100ms", retryMax: "500ms" },
      health: { listen: "127.0.0.1:0" },
    });
    const agent = await startKeyAgent(env, config);
    try {
      const requestId = await until("the pending request", () => agent.statuses()[0]?.pendingRequestId);
      const health = await fetch(`http://127.0.0.1:${agent.healthPort}/healthz`);
      expect(health.status).toBe(503);
      expect(
        ((await health.json()) as { credentials: { pendingRequestId: string }[] }).credentials[0]?.pendingRequestId,
      ).toBe(requestId);
      expect(existsSync(sink)).toBe(false);
      const approver = new EphemeraClient({ url: env.url, token: env.keys.approver });
      const { request } = await approver.getRequest(requestId);
      await approver.approve(requestId, request.requestHash);
      await agent.ready;
      expect(grantIdIn(sink)).toBe((await env.admin.getRequest(requestId)).request.grantId);
      expect((await fetch(`http://127.0.0.1:${agent.healthPort}/healthz`)).status).toBe(200);
    } finally {
      expect(await agent.stop()).toBe(0);
    }
  });

  it("exec --wait and withAccess({ wait }) wait for the approver instead of failing approval_required", async () => {
    const approver = new EphemeraClient({ url: env.url, token: env.keys.approver });
    const agentClient = new EphemeraClient({ url: env.url, token: env.keys.agent });
    const approveNext = async () => {
      const pending = await until("a pending request", async () => {
        const page = await approver.listRequests({ state: "pending" });
        return page.requests[0] ?? null;
      });
      await approver.approve(pending.id, pending.requestHash);
      return pending.id;
    };
    const out = join(env.dir, "wait.txt");
    const [execRun, execRequest] = await Promise.all([
      run(
        [
          "exec",
          "--wait",
          "1m",
          "--entitlement",
          "demo-api/write",
          "--justification",
          "deploy",
          "--",
          process.execPath,
          "-e",
          `require("node:fs").writeFileSync(${JSON.stringify(out)}, process.env.EPHEMERA_GRANT_ID ?? "")`,
        ],
        execEnv(env),
      ),
      approveNext(),
    ]);
    expect(execRun.code, execRun.stderr).toBe(0);
    expect(execRun.stderr).toContain(`request ${execRequest} needs approval (1 from sre); waiting`);
    const grantId = readFileSync(out, "utf8");
    expect((await env.admin.getGrant(grantId)).state).toBe("verified");

    const pendingSeen: string[] = [];
    const [library] = await Promise.all([
      withAccess("demo-api/write", (credential) => credential.grantId, {
        client: agentClient,
        justification: "deploy",
        wait: { pollMs: 100, timeoutMs: 20_000, onPending: (request) => pendingSeen.push(request.id) },
      }),
      approveNext(),
    ]);
    expect(pendingSeen).toHaveLength(1);
    expect((await env.admin.getGrant(library)).state).toBe("verified");
    const refused = await run(["exec", "--entitlement", "demo-api/write", "--justification", "x", "--", "true"], {
      EPHEMERA_URL: env.url,
      EPHEMERA_TOKEN: env.keys.agent,
    });
    expect(refused.stderr).toContain("approval_required");
    await approver
      .cancel((await approver.listRequests({ state: "pending" })).requests[0]?.id ?? "")
      .catch(() => undefined);
  });

  it("broker outage: the current credential stays in the sink untouched, /healthz turns 503, and recovers", async () => {
    const proxy = await tcpProxy(new URL(env.url).port);
    const sink = join(env.dir, "outage.env");
    const config = keyAgentConfig(env, "outage", {
      broker: { url: `http://127.0.0.1:${proxy.port}`, timeout: "1s" },
      credentials: { api: { entitlement: "demo-api/read", duration: "3s", sink: { path: sink } } },
      renewal: { jitter: 0, retryInitial: "100ms", retryMax: "300ms" },
      health: { listen: "127.0.0.1:0" },
    });
    const agent = await startKeyAgent(env, config);
    try {
      await agent.ready;
      const before = readFileSync(sink, "utf8");
      await proxy.down();
      await until("a failed renewal", () => agent.statuses()[0]?.state === "degraded");
      const health = await fetch(`http://127.0.0.1:${agent.healthPort}/healthz`);
      expect(health.status).toBe(503);
      expect(readFileSync(sink, "utf8")).toBe(before);
      const metrics = await (await fetch(`http://127.0.0.1:${agent.healthPort}/metrics`)).text();
      expect(metrics).toMatch(/ephemera_agent_failures_total\{credential="api",operation="renew"\} [1-9]/);
      await proxy.up();
      await until("recovery", () => agent.statuses()[0]?.state === "ok");
      expect((await fetch(`http://127.0.0.1:${agent.healthPort}/healthz`)).status).toBe(200);
    } finally {
      await agent.stop();
      await proxy.close();
    }
  });

  it("a sink that cannot be written: the grant is ended at once, the agent retries and recovers when it can", async () => {
    const sinkDir = join(env.dir, "sinkdir");
    mkdirSync(sinkDir);
    const sink = join(sinkDir, "api.env");
    const config = keyAgentConfig(env, "unwritable", {
      credentials: { api: { entitlement: "demo-api/read", sink: { path: sink } } },
      renewal: { retryInitial: "100ms", retryMax: "300ms" },
    });
    rmSync(sinkDir, { recursive: true });
    const agent = await startKeyAgent(env, config);
    try {
      await until("a failed sink write", () => (agent.statuses()[0]?.lastError ?? "").includes("cannot write sink"));
      const wasted = await until("the unusable grant to be ended", async () => {
        const page = await env.admin.listGrants({
          identity: "svc-agent",
          target: "demo-api",
          state: "verified",
          limit: 100,
        });
        return page.grants.find(
          (g) => g.endReason === "completed" && Date.now() - Date.parse(g.issuedAt ?? "") < 10_000,
        );
      });
      expect(wasted.removed).toBe(true);
      mkdirSync(sinkDir);
      await agent.ready;
      expect(grantIdIn(sink)).toBe(agent.statuses()[0]?.grantId);
    } finally {
      expect(await agent.stop()).toBe(0);
    }
  });

  it("a bad config is refused at start naming each path, and no sink is written", async () => {
    const path = join(env.dir, "bad.yaml");
    writeFileSync(
      path,
      stringify({
        broker: { url: "ftp://nope" },
        auth: { type: "oidc-file" },
        credentials: { api: { entitlement: "demo-api/read", sink: { path: join(env.dir, "bad.env"), format: "xml" } } },
        renewal: { grace: "soon" },
      }),
    );
    const result = await run(["agent", "--config", path], { PATH: process.env.PATH ?? "" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("broker.url");
    expect(result.stderr).toContain("credentials.api.sink.format");
    expect(existsSync(join(env.dir, "bad.env"))).toBe(false);
    const semantic = join(env.dir, "bad2.yaml");
    writeFileSync(
      semantic,
      stringify({
        broker: { url: env.url },
        auth: { type: "oidc-file" },
        credentials: { api: { entitlement: "demo-api/read", sink: { path: join(env.dir, "nodir", "x.env") } } },
        renewal: { grace: "soon" },
      }),
    );
    const second = await run(["agent", "--config", semantic], {});
    expect(second.code).toBe(2);
    expect(second.stderr).toContain("auth.path: required for auth type oidc-file");
    expect(second.stderr).toContain("credentials.api.sink.path: the directory");
    expect(second.stderr).toContain("renewal.grace: not a duration");
  });
});

/** A TCP forwarder to the broker that can be cut (listener closed, connections reset) and restored on the same port. */
async function tcpProxy(targetPort: string) {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  const listen = () =>
    new Promise<void>((resolveListen) => {
      server = createServer((client) => {
        const upstream = connect(Number(targetPort), "127.0.0.1");
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on("error", drop).on("close", drop);
        upstream.on("error", drop).on("close", drop);
      });
      server.listen(port, "127.0.0.1", resolveListen);
    });
  const down = () =>
    new Promise<void>((resolveDown) => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      if (server === null) return resolveDown();
      server.close(() => resolveDown());
      server = null;
    });
  await listen();
  return { port, down, up: listen, close: down };
}
