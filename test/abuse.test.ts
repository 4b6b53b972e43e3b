// A hostile client floods the broker: bad keys, malformed bodies, console sign-ins. The evidence is kept (the first
// refusal of each kind is an event, the rest one summary with a count), the flood is not (a few events, not thousands),
// the source is told to wait (429 with Retry-After, as a problem document), and a valid credential is never limited.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildConfig } from "../src/config/load.js";
import { generateApiKey } from "../src/identity/api-keys.js";
import { type Broker, startBroker } from "../src/main.js";
import { silentLogger } from "../src/support/logger.js";
import { testConfigDocument } from "./support/broker.js";

let broker: Broker | null = null;
let dir = "";
afterEach(async () => {
  await broker?.close();
  broker = null;
  rmSync(dir, { recursive: true, force: true });
});

async function start(extra: Record<string, unknown> = {}) {
  dir = mkdtempSync(join(tmpdir(), "ephemera-abuse-"));
  const keys = { ci: generateApiKey(), other: generateApiKey(), admin: generateApiKey() };
  const document = { ...testConfigDocument(join(dir, "data"), keys), ...extra };
  broker = await startBroker(buildConfig(document, "test"), { logger: silentLogger(), listen: false, schedule: false });
  return { app: broker.app, keys, store: broker.deps.store };
}

const badKey = (i: number) => `ephk_${String(i).padStart(10, "0")}_${"x".repeat(43)}`;

describe("a flood of refusals", () => {
  it("5,000 bad keys from one address add a few events, get 429 after the limit, and never slow a valid key", async () => {
    const { app, keys, store } = await start();
    const before = (await store.auditHead()).seq;
    const statuses = new Map<number, number>();
    let retryAfter: string | undefined;
    for (let i = 0; i < 5000; i++) {
      const response = await app.inject({
        method: "GET",
        url: "/v1/grants",
        headers: { authorization: `Bearer ${badKey(i)}` },
      });
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
      if (response.statusCode === 429) {
        retryAfter ??= String(response.headers["retry-after"]);
        expect(response.headers["content-type"]).toContain("application/problem+json");
      }
      if (i % 1000 === 0) {
        // A valid credential from the same address is served all along.
        const valid = await app.inject({
          method: "POST",
          url: "/v1/requests",
          headers: { authorization: `Bearer ${keys.ci.key}` },
          payload: { entitlement: "demo-api/read", duration: "5m" },
        });
        expect(valid.statusCode).toBe(201);
      }
    }
    expect(statuses.get(401)).toBe(20);
    expect(statuses.get(429)).toBe(4980);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    const added = (await store.auditHead()).seq - before;
    // Five issued credentials (a request and an issue event each, plus usage) and the refusals: first of each kind.
    const refusals = (await store.listAudit(before, 10_000)).filter((e) => e.code === "auth.failed");
    expect(refusals).toHaveLength(2);
    expect(added).toBeLessThan(40);
    // The summaries are written when the window ends (here: when the server closes), with the count.
    await app.close();
    const after = (await store.listAudit(before, 10_000)).filter((e) => e.code === "auth.failed");
    expect(after.length).toBeLessThanOrEqual(4);
    const counted = after.reduce(
      // A first refusal is one; a summary carries how many followed it.
      (sum, e) => sum + ((e.data.repeated as { count?: number } | undefined)?.count ?? 1),
      0,
    );
    expect(counted).toBe(5000);
  });

  it("limits console sign-ins per address and aggregates malformed bodies", async () => {
    const { app, store, keys } = await start({
      server: { listen: "127.0.0.1:0", rateLimit: { signIns: { max: 3, window: "1m" } } },
    });
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await app.inject({
        method: "POST",
        url: "/v1/sessions",
        payload: { apiKey: badKey(i) },
      });
      codes.push(response.statusCode);
    }
    expect(codes).toEqual([401, 401, 401, 429, 429, 429]);
    const before = (await store.auditHead()).seq;
    for (let i = 0; i < 200; i++) {
      const response = await app.inject({
        method: "POST",
        url: "/v1/requests",
        headers: { authorization: `Bearer ${keys.ci.key}`, "content-type": "application/json" },
        payload: "{not json",
      });
      expect(response.statusCode).toBe(400);
    }
    expect((await store.auditHead()).seq - before).toBeLessThan(5);
  });

  it("behind server.trustProxy, limits each client behind the proxy, not the proxy", async () => {
    const { app } = await start({ server: { listen: "127.0.0.1:0", trustProxy: ["127.0.0.1"] } });
    const from = (address: string, i: number) =>
      app.inject({
        method: "GET",
        url: "/v1/grants",
        headers: { authorization: `Bearer ${badKey(i)}`, "x-forwarded-for": address },
      });
    for (let i = 0; i < 20; i++) expect((await from("203.0.113.7", i)).statusCode).toBe(401);
    expect((await from("203.0.113.7", 20)).statusCode).toBe(429);
    // Another client behind the same proxy is not locked out by the first one's failures.
    expect((await from("203.0.113.8", 21)).statusCode).toBe(401);
  });

  it("turns off with server.rateLimit: false (a proxy limits instead)", async () => {
    const { app } = await start({ server: { listen: "127.0.0.1:0", rateLimit: false } });
    for (let i = 0; i < 40; i++) {
      const response = await app.inject({
        method: "GET",
        url: "/v1/grants",
        headers: { authorization: `Bearer ${badKey(i)}` },
      });
      expect(response.statusCode).toBe(401);
    }
  });
});
