// `ephemera mcp --http` (Streamable HTTP, one session per client) driven by the MCP SDK's own client against a real
// broker and PostgreSQL: reveal puts the secret in the result only where configured and policy allows it, and the
// audit event says so; per-session caps; ending a session or stopping the server completes every grant.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EphemeraClient } from "../src/client/index.js";
import {
  type AgentBroker,
  CLI,
  callOk,
  callTool,
  childEnv,
  postgresUp,
  readEnvSink,
  startAgentBroker,
  within,
  writeMcpConfig,
} from "./support/mcp.js";
import { freePort } from "./support/process-broker.js";

const pgUp = await postgresUp();
const READ_INTENT = { task: "T-7", actions: ["orders.select"] };
const START_TIMEOUT_MS = 20_000;

interface McpProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly port: number;
  output(): string;
  exited: Promise<number | null>;
}

function spawnMcp(host: string, port: number, configPath: string): Omit<McpProcess, "url"> {
  const child = spawn(process.execPath, [CLI, "mcp", "--http", `${host}:${port}`, "--config", configPath], {
    env: childEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (c) => {
    output += String(c);
  });
  child.stderr?.on("data", (c) => {
    output += String(c);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, port, output: () => output, exited };
}

async function startMcp(configPath: string): Promise<McpProcess> {
  const port = await freePort();
  const started = spawnMcp("127.0.0.1", port, configPath);
  const listening = await within(START_TIMEOUT_MS, async () => started.output().includes("listening on"));
  if (listening === null) {
    started.child.kill("SIGKILL");
    throw new Error(`ephemera mcp --http did not start:\n${started.output()}`);
  }
  return { ...started, url: `http://127.0.0.1:${port}/mcp` };
}

const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-03-26", capabilities: {}, clientInfo: { name: "raw", version: "1.0.0" } },
};

/** One POST to /mcp without the SDK, to see the status and body a refused client gets. */
function post(port: number, headers: Record<string, string>, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path: "/mcp",
        method: "POST",
        headers: {
          host: `127.0.0.1:${port}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...headers,
        },
      },
      (res) => {
        let text = "";
        res.on("data", (c) => {
          text += String(c);
        });
        res.once("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.once("error", reject);
    req.end(JSON.stringify(body));
  });
}

describe.skipIf(!pgUp)("ephemera mcp over Streamable HTTP", () => {
  let agent: AgentBroker;
  let mcp: McpProcess;
  const seen: string[] = [];
  const clients: Client[] = [];

  async function connect(name = "claude-code"): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
    const transport = new StreamableHTTPClientTransport(new URL(mcp.url));
    const client = new Client({ name, version: "1.0.0" });
    await client.connect(transport);
    clients.push(client);
    return { client, transport };
  }

  beforeAll(async () => {
    agent = await startAgentBroker();
    const { path } = writeMcpConfig(agent, "http", {
      entitlements: { "orders/read": { reveal: true } },
      limits: { concurrentGrants: 1, requestsPerMinute: 4 },
      wait: "200ms",
    });
    mcp = await startMcp(path);
  });
  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    mcp?.child.kill("SIGKILL");
    await agent?.close();
  });

  it("with reveal on for a known client the credential is in the result, and the audit event flags it", async () => {
    const { client, transport } = await connect("claude-code");
    const granted = await callOk(client, seen, "request_access", { entitlement: "orders/read", intent: READ_INTENT });
    const sink = readEnvSink((granted.data.sink as { path: string }).path);
    // The search that proves no secret elsewhere finds this one: reveal is the only way in.
    expect(granted.data.revealed).toBe(true);
    expect((granted.data.credential as { password: string }).password).toBe(sink.PGPASSWORD);
    expect(granted.raw.includes(sink.PGPASSWORD ?? "missing")).toBe(true);

    const admin = new EphemeraClient({ url: agent.broker.url, token: agent.keys.admin });
    const events = (await admin.audit(0, 500)).events.filter((e) => e.requestId === granted.data.requestId);
    const decided = events.find((e) => e.code === "request.approved");
    expect(decided?.data).toMatchObject({
      reveal: true,
      client: { kind: "mcp", name: "claude-code", version: "1.0.0", toolCallId: expect.any(String), reveal: true },
    });
    const done = await callTool(client, seen, "complete_access", { grantId: granted.data.grantId });
    expect(done.data).toMatchObject({ removed: true });
    await transport.terminateSession();
  });

  it("a client that policy does not know may not have a secret revealed: denied", async () => {
    const { client, transport } = await connect("some-agent");
    const refused = await callTool(client, seen, "request_access", { entitlement: "orders/read", intent: READ_INTENT });
    expect(refused).toMatchObject({ isError: true, data: { error: { code: "denied", source: "broker" } } });
    expect(await agent.roles()).toEqual([]);
    await transport.terminateSession();
  });

  it("caps what one session holds at once and how often it asks", async () => {
    const { client, transport } = await connect();
    const ask = () => callTool(client, seen, "request_access", { entitlement: "orders/read", intent: READ_INTENT });
    const first = await ask();
    expect(first.isError, first.text).toBe(false);
    const second = await callTool(client, seen, "request_access", {
      entitlement: "orders/write",
      intent: { task: "T-7", actions: ["orders.update"] },
      justification: "fix",
    });
    expect(second).toMatchObject({ isError: true, data: { error: { code: "too_many_grants" } } });
    await callTool(client, seen, "complete_access", { grantId: first.data.grantId });
    for (let i = 0; i < 3; i++) {
      const again = await ask();
      expect(again.isError, again.text).toBe(false);
      await callTool(client, seen, "complete_access", { grantId: again.data.grantId });
    }
    const fifth = await ask();
    expect(fifth).toMatchObject({ isError: true, data: { error: { code: "rate_limited" } } });
    expect(Number((fifth.data.error as { retryAfterSeconds: number }).retryAfterSeconds)).toBeGreaterThan(0);
    // Another session has its own budget.
    const { client: other, transport: otherTransport } = await connect();
    const fresh = await callTool(other, seen, "list_entitlements", READ_INTENT);
    expect(fresh.isError).toBe(false);
    await transport.terminateSession();
    await otherTransport.terminateSession();
  });

  it("ending the session (DELETE) completes its grants before it is answered", async () => {
    const { client, transport } = await connect();
    const granted = await callOk(client, seen, "request_access", { entitlement: "orders/read", intent: READ_INTENT });
    const account = (granted.data.grants as { account: string }).account;
    expect(await agent.roles()).toContain(account);
    const started = Date.now();
    await transport.terminateSession();
    expect(await within(2_000, async () => !(await agent.roles()).includes(account))).not.toBeNull();
    expect(Date.now() - started).toBeLessThan(2_000);
    const admin = new EphemeraClient({ url: agent.broker.url, token: agent.keys.admin });
    expect(await admin.getGrant(String(granted.data.grantId))).toMatchObject({ removed: true, endReason: "completed" });
  });

  it("a client that vanishes without ending its session: its grants are completed after the idle timeout", async () => {
    const { path } = writeMcpConfig(agent, "http-idle", { http: { sessionIdleTimeout: "1s" } });
    const idle = await startMcp(path);
    try {
      const transport = new StreamableHTTPClientTransport(new URL(idle.url));
      const client = new Client({ name: "claude-code", version: "1.0.0" });
      await client.connect(transport);
      const granted = await callOk(client, seen, "request_access", {
        entitlement: "orders/read",
        intent: READ_INTENT,
      });
      const account = (granted.data.grants as { account: string }).account;
      // No DELETE, no further request: the client is simply gone.
      expect(await within(4_000, async () => !(await agent.roles()).includes(account))).not.toBeNull();
      expect(idle.output()).toContain('"why":"idle"');
    } finally {
      idle.child.kill("SIGKILL");
    }
  });

  it("refuses a Host it does not serve (DNS rebinding) and a session it does not know", async () => {
    const status = async (headers: Record<string, string>) =>
      (await post(mcp.port, headers, { jsonrpc: "2.0", id: 1, method: "tools/list" })).status;
    expect(await status({ host: `evil.example:${mcp.port}` })).toBe(403);
    expect(await status({ host: `127.0.0.1:${mcp.port}`, origin: "http://evil.example" })).toBe(403);
    expect(await status({ host: `127.0.0.1:${mcp.port}`, "mcp-session-id": "not-a-session" })).toBe(404);
  });

  it("two sessions asking for the same entitlement: the second gets sink_busy and the first one's file stays its own", async () => {
    const { client: first, transport: firstTransport } = await connect();
    const { client: second, transport: secondTransport } = await connect();
    const ask = (client: Client) =>
      callTool(client, seen, "request_access", { entitlement: "orders/read", intent: READ_INTENT });
    const held = await ask(first);
    expect(held.isError, held.text).toBe(false);
    const path = (held.data.sink as { path: string }).path;

    const refused = await ask(second);
    expect(refused).toMatchObject({ isError: true, data: { error: { code: "sink_busy" } } });
    expect(readEnvSink(path).EPHEMERA_GRANT_ID).toBe(held.data.grantId);

    await callTool(first, seen, "complete_access", { grantId: held.data.grantId });
    expect(existsSync(path)).toBe(false);
    const next = await ask(second);
    expect(next.isError, next.text).toBe(false);
    expect((next.data.sink as { path: string }).path).toBe(path);
    expect(readEnvSink(path).EPHEMERA_GRANT_ID).toBe(next.data.grantId);

    // The first session ending does not touch a sink it no longer owns.
    await firstTransport.terminateSession();
    expect(readEnvSink(path).EPHEMERA_GRANT_ID).toBe(next.data.grantId);
    await callTool(second, seen, "complete_access", { grantId: next.data.grantId });
    expect(existsSync(path)).toBe(false);
    await secondTransport.terminateSession();
  });

  it("caps sessions, grants and asks across all sessions of the server, not only per session", async () => {
    const { path } = writeMcpConfig(agent, "http-server-caps", {
      limits: { maxSessions: 2, totalConcurrentGrants: 1, totalRequestsPerMinute: 3 },
    });
    const capped = await startMcp(path);
    const opened: StreamableHTTPClientTransport[] = [];
    const open = async () => {
      const transport = new StreamableHTTPClientTransport(new URL(capped.url));
      const client = new Client({ name: "claude-code", version: "1.0.0" });
      await client.connect(transport);
      opened.push(transport);
      return { client, transport };
    };
    try {
      const a = await open();
      const b = await open();
      const third = await post(capped.port, {}, INITIALIZE);
      expect(third.status).toBe(503);
      expect(JSON.parse(third.body)).toMatchObject({ jsonrpc: "2.0", error: { message: /limits\.maxSessions/ } });
      await a.transport.terminateSession();
      const c = await open();

      const ask = (client: Client) =>
        callTool(client, seen, "request_access", { entitlement: "orders/read", intent: READ_INTENT });
      const held = await ask(b.client);
      expect(held.isError, held.text).toBe(false);
      const write = await callTool(c.client, seen, "request_access", {
        entitlement: "orders/write",
        intent: { task: "T-7", actions: ["orders.update"] },
        justification: "fix",
      });
      expect(write).toMatchObject({ isError: true, data: { error: { code: "too_many_grants" } } });
      expect(write.text).toContain("limits.totalConcurrentGrants");
      await callTool(b.client, seen, "complete_access", { grantId: held.data.grantId });

      // The refused write was not counted: one ask so far, two more are within the server's budget of three a minute.
      for (const client of [c.client, b.client]) {
        const allowed = await ask(client);
        expect(allowed.isError, allowed.text).toBe(false);
        await callTool(client, seen, "complete_access", { grantId: allowed.data.grantId });
      }
      const over = await ask(c.client);
      expect(over).toMatchObject({ isError: true, data: { error: { code: "rate_limited" } } });
      expect(over.text).toContain("limits.totalRequestsPerMinute");
    } finally {
      for (const transport of opened) await transport.terminateSession().catch(() => undefined);
      capped.child.kill("SIGKILL");
    }
  });

  it("with http.bearerTokenFile a client without the right bearer gets 401; with it, tools work", async () => {
    const bearer = randomBytes(24).toString("base64url");
    const { path } = writeMcpConfig(agent, "http-bearer", { http: { bearerTokenFile: "bearer" } });
    writeFileSync(join(path, "..", "bearer"), `${bearer}\n`, { mode: 0o600 });
    const guarded = await startMcp(path);
    try {
      expect((await post(guarded.port, {}, INITIALIZE)).status).toBe(401);
      // Same length with the last character changed, one character longer, the token without its scheme: all refused.
      const wrong = `${bearer.slice(0, -1)}${bearer.endsWith("A") ? "B" : "A"}`;
      expect((await post(guarded.port, { authorization: `Bearer ${wrong}` }, INITIALIZE)).status).toBe(401);
      expect((await post(guarded.port, { authorization: `Bearer ${bearer}x` }, INITIALIZE)).status).toBe(401);
      expect((await post(guarded.port, { authorization: bearer }, INITIALIZE)).status).toBe(401);

      const transport = new StreamableHTTPClientTransport(new URL(guarded.url), {
        requestInit: { headers: { authorization: `Bearer ${bearer}` } },
      });
      const client = new Client({ name: "claude-code", version: "1.0.0" });
      await client.connect(transport);
      await callOk(client, seen, "list_entitlements", READ_INTENT);
      await transport.terminateSession();
      expect(guarded.output()).not.toContain(bearer);
    } finally {
      guarded.child.kill("SIGKILL");
    }
  });

  it("refuses to listen beyond loopback without a bearer token: exit 2, naming http.bearerTokenFile", async () => {
    const { path } = writeMcpConfig(agent, "http-open");
    const open = spawnMcp("0.0.0.0", await freePort(), path);
    try {
      const code = await Promise.race([open.exited, new Promise((r) => setTimeout(() => r("still running"), 10_000))]);
      expect(code).toBe(2);
      expect(open.output()).toContain("http.bearerTokenFile");
      expect(open.output()).not.toContain("ephemera mcp: listening");
    } finally {
      open.child.kill("SIGKILL");
    }
  });

  it("SIGTERM completes every session's grants, then the server exits 0", async () => {
    const { client } = await connect();
    const granted = await callOk(client, seen, "request_access", { entitlement: "orders/read", intent: READ_INTENT });
    const account = (granted.data.grants as { account: string }).account;
    mcp.child.kill("SIGTERM");
    expect(await within(2_000, async () => !(await agent.roles()).includes(account))).not.toBeNull();
    expect(await mcp.exited).toBe(0);
    expect(mcp.output()).not.toContain(agent.keys.agent);
  });
});
