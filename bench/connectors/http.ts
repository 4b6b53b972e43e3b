// Benchmark of the http connector against the in-memory ticketing tool: issue and revoke+verify through the connector,
// beside the same REST calls an operator would send by hand on one keep-alive connection.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { EntitlementSpec } from "../../src/connectors/connector.js";
import { createHttpConnector } from "../../src/connectors/http/index.js";
import { TicketingService } from "../../src/connectors/http/testing-service.js";
import type { ConnectorContext } from "../../src/connectors/registry.js";
import { TokenAuthority } from "../../src/connectors/token/index.js";
import { openGrant } from "../../src/domain/transitions.js";
import type { Identity } from "../../src/domain/types.js";
import { openSqliteStore } from "../../src/storage/index.js";
import { systemClock } from "../../src/support/clock.js";
import { newId } from "../../src/support/ids.js";
import { silentLogger } from "../../src/support/logger.js";
import { Sealer } from "../../src/support/sealer.js";
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
  const dir = mkdtempSync(join(tmpdir(), "ephemera-bench-http-"));
  const store = await openSqliteStore(join(dir, "bench.db"));
  const sealer = new Sealer(randomBytes(32));
  const tokenAuthority = new TokenAuthority({
    issuer: "https://ephemera.bench",
    store,
    sealer,
    clock: systemClock,
    rotationIntervalSeconds: 3600,
    maxTokenLifetimeSeconds: 3600,
    leewaySeconds: 60,
  });
  const ctx: ConnectorContext = { store, clock: systemClock, sealer, logger: silentLogger(), tokenAuthority };
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
      const identity: Identity = {
        id: `bench-${i}`,
        kind: "agent",
        owner: "bench",
        groups: [],
        attributes: { http_subject: subject },
        status: "active",
        admin: false,
      };
      const id = newId("grt");
      const now = systemClock.now();
      const { handle, handleData } = connector.prepare({ grantId: id, identity, entitlement });
      const grant = openGrant({
        id,
        requestId: newId("req"),
        identityId: identity.id,
        targetId: "tickets",
        entitlement: entitlement.name,
        connectorType: "http",
        handle,
        handleData,
        createdAt: now,
        expiresAt: now + 300_000,
        maxExpiresAt: now + 3_600_000,
        dueAt: now + 300_000,
      });

      let t = performance.now();
      await connector.issue({ grant, identity, entitlement, expiresAt: grant.expiresAt });
      issue.push(performance.now() - t);
      t = performance.now();
      await connector.revoke({ grant });
      const verified = await connector.verifyRemoved({ grant, probe: null });
      removal.push(performance.now() - t);
      if (!verified.removed) throw new Error("bench: removal was not verified");

      const path = `/api/users/${subject}/roles/triage`;
      t = performance.now();
      if ((await call(agent, service.port, "PUT", path, service.adminToken)) !== 204) throw new Error("bench: raw PUT");
      rawIssue.push(performance.now() - t);
      t = performance.now();
      await call(agent, service.port, "DELETE", path, service.adminToken);
      if ((await call(agent, service.port, "GET", path, service.adminToken)) !== 404) throw new Error("bench: raw GET");
      rawRemoval.push(performance.now() - t);
    }
  } finally {
    agent.destroy();
    await connector.close();
    await service.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
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
