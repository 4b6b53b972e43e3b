// The shared store goes away and comes back, through the whole broker on PostgreSQL: readiness turns 503, a request
// during the outage is refused with 503 and leaves nothing (no grant, no credential, no audit gap), reads fail closed,
// and the broker answers again by itself once the store returns. The store is reached through a TCP proxy the test cuts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyStoreChain } from "../src/audit/verify.js";
import { buildConfig } from "../src/config/load.js";
import { startTcpProxy, type TcpProxy } from "../src/connectors/testing/tcp-proxy.js";
import { generateApiKey } from "../src/identity/api-keys.js";
import { type Broker, startBroker } from "../src/main.js";
import { openPostgresStore } from "../src/storage/postgres/index.js";
import {
  postgresStoreUp,
  STORE_TEST_URL,
  type TestSchema,
  testSchema,
} from "../src/storage/postgres/testing/schemas.js";
import { silentLogger } from "../src/support/logger.js";
import { testConfigDocument } from "./support/broker.js";

const up = await postgresStoreUp();

describe.skipIf(!up)("the broker when its PostgreSQL store is lost and comes back", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "ephemera-store-outage-"));
  const keys = { ci: generateApiKey(), other: generateApiKey(), admin: generateApiKey() };
  let schema: TestSchema;
  let proxy: TcpProxy;
  let broker: Broker;

  beforeAll(async () => {
    schema = testSchema("eph_outage");
    proxy = await startTcpProxy(5432);
    const document = {
      ...testConfigDocument(dataDir, keys),
      storage: { postgres: { url: `postgres://postgres@127.0.0.1:${proxy.port}/test`, schema: schema.schema } },
    };
    broker = await startBroker(buildConfig(document, "test"), { logger: silentLogger(), listen: false });
  });
  afterAll(async () => {
    await broker?.close();
    await proxy?.close();
    await schema?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const request = (idempotencyKey?: string) =>
    broker.app.inject({
      method: "POST",
      url: "/v1/requests",
      headers: {
        authorization: `Bearer ${keys.ci.key}`,
        ...(idempotencyKey === undefined ? {} : { "idempotency-key": idempotencyKey }),
      },
      payload: { entitlement: "demo-api/read", duration: "5m" },
    });
  const get = (url: string) =>
    broker.app.inject({ method: "GET", url, headers: { authorization: `Bearer ${keys.admin.key}` } });

  it("fails closed while the store is gone and resumes by itself", async () => {
    expect((await request()).statusCode).toBe(201);
    expect((await get("/readyz")).statusCode).toBe(200);

    await proxy.cut();
    const ready = await get("/readyz");
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: "not_ready", checks: { store: false } });
    for (const attempt of [request(), request("retry-me")]) {
      const refused = await attempt;
      expect(refused.statusCode).toBe(503);
      expect(refused.body).not.toMatch(/eyJ/); // no token anywhere in the answer
      expect(refused.json()).toMatchObject({ status: 503 });
    }
    expect((await get("/v1/grants")).statusCode).toBe(503);

    await proxy.restore();
    let readyAgain = 0;
    for (let i = 0; i < 100 && readyAgain !== 200; i++) {
      readyAgain = (await get("/readyz")).statusCode;
      if (readyAgain !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(readyAgain).toBe(200);
    const after = await request("retry-me");
    expect(after.statusCode).toBe(201);
    expect((await request("retry-me")).statusCode).toBe(200);

    // Only the two grants made while the store answered exist, and the chain is whole.
    const side = await openPostgresStore({ url: STORE_TEST_URL, schema: schema.schema });
    try {
      expect(await side.listGrants({ limit: 100 })).toHaveLength(2);
      expect(await verifyStoreChain(side)).toMatchObject({ ok: true });
    } finally {
      await side.close();
    }
  });
});
