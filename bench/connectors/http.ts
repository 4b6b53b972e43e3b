// Benchmark of the http connector against the in-memory ticketing tool: issue and revoke+verify through the connector,
// beside the same REST calls an operator would send by hand on one keep-alive connection.
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import type { EntitlementSpec } from "../../src/connectors/connector.js";
import { createHttpConnector } from "../../src/connectors/http/index.js";
import { TicketingService } from "../../src/connectors/http/testing-service.js";
import { benchContext, benchIdentity, expectRemoved, since, timedIssue, timedRemoval } from "./context.js";
import type { ConnectorBench } from "./types.js";

function call(agent: Agent, port: number, method: string, path: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: "127.0.0.1", port, method, path, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

export async function runHttpBench(iterations: number): Promise<ConnectorBench> {
  const service = await TicketingService.start();
  const { ctx, close } = await benchContext("http");
  const connector = createHttpConnector(
    {
      id: "tickets",
      type: "http",
      settings: {
        baseUrl: service.url,
        headers: { Authorization: `Bearer ${service.adminToken}` },
        add: { method: "PUT", path: "/api/users/{subject}/roles/{role}" },
        remove: { method: "DELETE", path: "/api/users/{subject}/roles/{role}" },
        check: { method: "GET", path: "/api/users/{subject}/roles/{role}" },
      },
    },
    ctx,
  );
  const entitlement: EntitlementSpec = {
    name: "tickets/triage",
    targetId: "tickets",
    defaultDurationSeconds: 300,
    maxDurationSeconds: 3600,
    risk: "low",
    settings: { role: "triage" },
  };
  connector.validateEntitlement(entitlement);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  const issue: number[] = [];
  const removal: number[] = [];
  const rawIssue: number[] = [];
  const rawRemoval: number[] = [];
  try {
    for (let i = 0; i < iterations; i += 1) {
      const subject = `bench-${i}`;
      service.addUser(subject);
      const identity = benchIdentity({ id: `bench-${i}`, kind: "agent", attributes: { http_subject: subject } });
      const { issued, grant, issueMs } = await timedIssue(connector, entitlement, identity);
      issue.push(issueMs);
      const removed = await timedRemoval(connector, grant, issued);
      removal.push(removed.removalMs);
      expectRemoved(connector, grant, removed);

      const path = `/api/users/${subject}/roles/triage`;
      let t = performance.now();
      if ((await call(agent, service.port, "PUT", path, service.adminToken)) !== 204) throw new Error("bench: raw PUT");
      rawIssue.push(since(t));
      t = performance.now();
      await call(agent, service.port, "DELETE", path, service.adminToken);
      if ((await call(agent, service.port, "GET", path, service.adminToken)) !== 404) throw new Error("bench: raw GET");
      rawRemoval.push(since(t));
    }
  } finally {
    agent.destroy();
    await connector.close();
    await service.close();
    await close();
  }
  return {
    connector: "http",
    issue,
    removal,
    rawIssue,
    rawIssueLabel: "PUT /api/users/<subject>/roles/triage (one keep-alive connection)",
    rawRemoval,
    rawRemovalLabel: "DELETE /api/users/<subject>/roles/triage + GET check (one keep-alive connection)",
  };
}
