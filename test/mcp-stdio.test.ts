// `ephemera mcp` over stdio, driven by the MCP SDK's own client against a real broker and the real PostgreSQL: a read
// for a declared task lands in a sink psql can use and ends verified; a write waits for a person; bad input from a
// model is a tool error with the broker's code; no secret reaches a tool result; disconnecting ends every grant.
import { existsSync, statSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../src/cli/testing/run-cli.js";
import { EphemeraClient } from "../src/client/index.js";
import {
  type AgentBroker,
  CLI,
  callOk,
  callTool,
  childEnv,
  postgresUp,
  psql,
  readEnvSink,
  startAgentBroker,
  within,
  writeMcpConfig,
} from "./support/mcp.js";

const pgUp = await postgresUp();

const READ_INTENT = { task: "T-42", actions: ["orders.select"] };

describe.skipIf(!pgUp)("ephemera mcp over stdio", () => {
  let agent: AgentBroker;
  let configPath: string;
  /** Every tool result any test received, and every password a sink held: none of these may be in those. */
  const seen: string[] = [];
  const secrets: string[] = [];
  const clients: Client[] = [];

  async function connect(name = "claude-code"): Promise<{ client: Client; transport: StdioClientTransport }> {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, "mcp", "--config", configPath],
      env: childEnv(),
      stderr: "pipe",
    });
    const client = new Client({ name, version: "1.0.0" });
    await client.connect(transport);
    clients.push(client);
    return { client, transport };
  }

  beforeAll(async () => {
    agent = await startAgentBroker();
    configPath = writeMcpConfig(agent, "stdio", { wait: "500ms", limits: { concurrentGrants: 3 } }).path;
  });
  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await agent?.close();
  });

  it("lists its tools, and the entitlements policy permits for a declared task", async () => {
    const { client } = await connect();
    const tools = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(tools).toEqual(["access_status", "complete_access", "list_entitlements", "renew_access", "request_access"]);

    const forRead = await callTool(client, seen, "list_entitlements", READ_INTENT);
    expect(forRead.isError).toBe(false);
    expect(forRead.data.entitlements).toEqual([
      expect.objectContaining({ name: "orders/read", approval: "auto", maxDurationSeconds: 3600 }),
    ]);
    const forWrite = await callTool(client, seen, "list_entitlements", {
      task: "T-42",
      actions: ["orders.update"],
      justification: "fix a refund",
    });
    expect(forWrite.data.entitlements).toEqual([
      expect.objectContaining({ name: "orders/write", approval: "required", maxDurationSeconds: 900 }),
    ]);
    await client.close();
  });

  it("a read for a declared task lands in a 0600 sink psql can use; complete_access removes the role and returns the receipt", async () => {
    const { client } = await connect();
    const granted = await callOk(client, seen, "request_access", {
      entitlement: "orders/read",
      duration: "10m",
      intent: { ...READ_INTENT, description: "count the orders" },
      justification: "answer the user's question",
    });
    expect(granted.data).toMatchObject({ status: "active", entitlement: "orders/read", revealed: false });
    expect(granted.data).not.toHaveProperty("credential");
    const sink = granted.data.sink as { path: string; format: string; variables: string[] };
    expect(sink.format).toBe("env");
    expect(sink.variables).toContain("PGPASSWORD");
    expect(statSync(sink.path).mode & 0o777).toBe(0o600);
    const env = readEnvSink(sink.path);
    secrets.push(env.PGPASSWORD ?? "missing", env.DATABASE_URL ?? "missing");
    expect(psql(env, `SELECT count(*) FROM ${agent.table}`)).toEqual({ ok: true, out: "2" });
    const account = (granted.data.grants as { account: string }).account;
    expect(await agent.roles()).toContain(account);

    const done = await callOk(client, seen, "complete_access", { grantId: granted.data.grantId });
    expect(done.data).toMatchObject({ removed: true, receipt: { removed: [`role ${account}`] } });
    const checks = (done.data.receipt as { checks: { passed: boolean }[] }).checks;
    expect(checks.length).toBeGreaterThan(0);
    expect(checks.every((c) => c.passed)).toBe(true);
    expect(await agent.roles()).not.toContain(account);
    expect(existsSync(sink.path)).toBe(false);
    expect(psql(env, "SELECT 1").ok).toBe(false);
    await client.close();
  });

  it("a write waits for a person: pending with the request id, approved over the API, then access_status delivers it", async () => {
    const { client } = await connect();
    const asked = await callOk(client, seen, "request_access", {
      entitlement: "orders/write",
      duration: "5m",
      intent: { task: "T-42", actions: ["orders.update"] },
      justification: "fix the refund of order 2",
    });
    expect(asked.data).toMatchObject({
      status: "pending",
      approval: { needed: [{ group: "dba", count: 1 }], given: 0 },
    });
    const requestId = String(asked.data.requestId);
    expect(asked.text).toContain(requestId);

    const dba = new EphemeraClient({ url: agent.broker.url, token: agent.keys.dba });
    const view = await dba.getRequest(requestId);
    await dba.approve(requestId, view.request.requestHash, "ok for T-42");

    const status = await callOk(client, seen, "access_status", { id: requestId });
    expect(status.data).toMatchObject({ status: "active", entitlement: "orders/write" });
    const sink = (status.data.sink as { path: string }).path;
    const env = readEnvSink(sink);
    secrets.push(env.PGPASSWORD ?? "missing");
    expect(psql(env, `INSERT INTO ${agent.table} VALUES (3, 'pen')`).ok).toBe(true);

    const again = await callTool(client, seen, "access_status", { id: status.data.grantId });
    expect(again.data).toMatchObject({ status: "active", heldBySession: true });
    expect(Number(again.data.secondsLeft)).toBeGreaterThan(200);
    const done = await callTool(client, seen, "complete_access", { grantId: status.data.grantId });
    expect(done.data).toMatchObject({ removed: true });
    await client.close();
  });

  it("bad input from a model is a tool error with the broker's code, and the server keeps serving", async () => {
    const { client } = await connect();
    const ask = (args: Record<string, unknown>) =>
      callTool(client, seen, "request_access", { entitlement: "orders/read", intent: READ_INTENT, ...args });
    const unknown = await ask({ entitlement: "orders/drop-everything" });
    expect(unknown).toMatchObject({
      isError: true,
      data: { error: { code: "unknown_entitlement", source: "broker" } },
    });
    const tooLong = await ask({ duration: "2h" });
    expect(tooLong).toMatchObject({ isError: true, data: { error: { code: "duration_too_long" } } });
    const malformed = await ask({ intent: { task: "T-42", actions: ["orders.select; DROP TABLE orders"] } });
    expect(malformed).toMatchObject({
      isError: true,
      data: { error: { code: "invalid_request", field: expect.any(String) } },
    });
    const huge = await ask({ justification: "x".repeat(1024 * 1024) });
    expect(huge).toMatchObject({ isError: true, data: { error: { code: "payload_too_large", source: "broker" } } });
    expect(huge.text.length).toBeLessThan(1000);
    // Not even a string where the schema wants an object: the SDK's validation error, not a crash.
    const wrongType = await callTool(client, seen, "request_access", { entitlement: "orders/read", intent: 42 });
    expect(wrongType.isError).toBe(true);
    const notMine = await callTool(client, seen, "complete_access", { grantId: "grt_not_from_this_session" });
    expect(notMine).toMatchObject({ isError: true, data: { error: { code: "not_in_session" } } });

    const still = await callTool(client, seen, "list_entitlements", READ_INTENT);
    expect(still.isError).toBe(false);
    expect(await agent.roles()).toEqual([]);
    await client.close();
  });

  it("renewal for the same intent extends the grant; actions outside it are refused with intent_exceeded", async () => {
    const { client } = await connect();
    const granted = await callOk(client, seen, "request_access", {
      entitlement: "orders/read",
      duration: "5m",
      intent: READ_INTENT,
    });
    secrets.push(readEnvSink((granted.data.sink as { path: string }).path).PGPASSWORD ?? "missing");
    const grantId = granted.data.grantId;
    const beyond = await callTool(client, seen, "renew_access", {
      grantId,
      intent: { task: "T-42", actions: ["orders.select", "orders.delete"] },
    });
    expect(beyond).toMatchObject({ isError: true, data: { error: { code: "intent_exceeded", source: "broker" } } });
    const same = await callOk(client, seen, "renew_access", { grantId, duration: "20m", intent: READ_INTENT });
    expect(Date.parse(String(same.data.expiresAt))).toBeGreaterThan(Date.parse(String(granted.data.expiresAt)));
    await callTool(client, seen, "complete_access", { grantId });
    await client.close();
  });

  it("one grant per sink at a time: asking again for a held entitlement is refused, not stacked", async () => {
    const { client } = await connect();
    // Two calls at once (clients may call tools concurrently): exactly one gets the grant.
    const both = await Promise.all(
      [1, 2].map(() => callTool(client, seen, "request_access", { entitlement: "orders/read", intent: READ_INTENT })),
    );
    const read = both.find((r) => !r.isError);
    expect(read, both.map((r) => r.text).join(" | ")).toBeDefined();
    expect(both.filter((r) => r.isError).map((r) => (r.data.error as { code: string }).code)).toEqual(["sink_busy"]);
    if (!read) return;
    secrets.push(readEnvSink((read.data.sink as { path: string }).path).PGPASSWORD ?? "missing");
    // The same sink is already held: the model is told to renew or complete instead of stacking grants.
    const twice = await callTool(client, seen, "request_access", { entitlement: "orders/read", intent: READ_INTENT });
    expect(twice).toMatchObject({ isError: true, data: { error: { code: "sink_busy" } } });
    await client.close();
  });

  it("disconnecting the client mid-grant ends every grant within 2 s, verified on the target", async () => {
    const { client } = await connect();
    const granted = await callOk(client, seen, "request_access", { entitlement: "orders/read", intent: READ_INTENT });
    const sink = (granted.data.sink as { path: string }).path;
    secrets.push(readEnvSink(sink).PGPASSWORD ?? "missing");
    const account = (granted.data.grants as { account: string }).account;
    expect(await agent.roles()).toContain(account);

    const closed = Date.now();
    await client.close();
    // The SDK's client waits 2 s for the server to exit on its own before it sends SIGTERM: it did not need to.
    expect(Date.now() - closed).toBeLessThan(2_000);
    const took = await within(2_000, async () => !(await agent.roles()).includes(account));
    expect(took, `role ${account} still there 2 s after the client disconnected`).not.toBeNull();
    const admin = new EphemeraClient({ url: agent.broker.url, token: agent.keys.admin });
    const grant = await admin.getGrant(String(granted.data.grantId));
    expect(grant).toMatchObject({ removed: true, endReason: "completed" });
    expect(Date.now() - closed).toBeLessThan(5_000);
    expect(existsSync(sink)).toBe(false);
  });

  it("no tool result held a secret: no password, connection URL or the agent's API key", () => {
    expect(secrets.length).toBeGreaterThanOrEqual(5);
    expect(seen.length).toBeGreaterThan(10);
    for (const secret of [...secrets, agent.keys.agent]) {
      expect(secret.length).toBeGreaterThan(8);
      for (const result of seen) expect(result.includes(secret)).toBe(false);
    }
  });

  it("the example agent policies pass their own cases", async () => {
    const result = await run(["policy", "test", "examples/policies/ai-agents/tests.yaml"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/9 passed, 0 failed/);
  });
});
