// Retention of grant history: with retention.endedGrants set, ended grants older than it leave the grant tables on the
// next pass, the audit log keeps their events (receipts included) and still verifies; without it nothing is deleted.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildConfig } from "../src/config/load.js";
import { generateApiKey } from "../src/identity/api-keys.js";
import { type Broker, startBroker } from "../src/main.js";
import { ManualClock } from "../src/support/clock.js";
import { silentLogger } from "../src/support/logger.js";
import { testConfigDocument } from "./support/broker.js";

const DAY = 86_400_000;
let broker: Broker | null = null;
let dataDir = "";
afterEach(async () => {
  await broker?.close();
  broker = null;
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(retention: Record<string, unknown> | undefined) {
  dataDir = mkdtempSync(join(tmpdir(), "ephemera-retention-"));
  const keys = { ci: generateApiKey(), other: generateApiKey(), admin: generateApiKey() };
  // Ids carry the wall-clock time they were made at (retention scans by id): the test clock starts at the same time.
  const clock = new ManualClock(Date.now());
  const doc = { ...testConfigDocument(dataDir, keys), ...(retention ? { retention } : {}) };
  broker = await startBroker(buildConfig(doc, "test"), {
    logger: silentLogger(),
    listen: false,
    schedule: false,
    clock,
  });
  const call = (method: "GET" | "POST", url: string, key: string, payload?: object) =>
    broker!.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}` },
      ...(payload === undefined ? {} : { payload }),
    });
  return { broker, clock, call, keys: { ci: keys.ci.key, admin: keys.admin.key } };
}

describe("retention of grant history", () => {
  it("deletes ended grants past retention.endedGrants on the next pass, keeps active ones and every audit event", async () => {
    const t = await start({ endedGrants: "30d" });
    const issue = async () =>
      (await t.call("POST", "/v1/requests", t.keys.ci, { entitlement: "demo-api/read", duration: "5m" })).json();
    const ended = await issue();
    expect((await t.call("POST", `/v1/grants/${ended.grant.id}/complete`, t.keys.ci)).json().state).toBe("verified");
    t.clock.advance(31 * DAY);
    const fresh = await issue(); // issued now: active, and young
    const eventsBefore = (await t.broker.deps.store.auditHead()).seq;

    expect(await t.broker.retention?.runOnce()).toEqual({ grants: 1, requests: 1 });
    expect((await t.call("GET", `/v1/grants/${ended.grant.id}`, t.keys.admin)).statusCode).toBe(404);
    expect((await t.call("GET", `/v1/grants/${fresh.grant.id}`, t.keys.admin)).statusCode).toBe(200);
    // The history stays in the audit log: the ended grant's receipt included, and the chain verifies.
    const events = await t.broker.deps.store.auditFor({ grantId: ended.grant.id }, 100);
    expect(events.map((e) => e.code)).toContain("grant.verified");
    const [pruned] = await t.broker.deps.store.listAudit(eventsBefore, 1);
    expect(pruned).toMatchObject({ code: "history.pruned", data: { grants: 1, requests: 1 } });
    expect((await t.call("GET", "/v1/audit/verify", t.keys.admin)).json()).toMatchObject({ ok: true });
    expect(await t.broker.retention?.runOnce()).toEqual({ grants: 0, requests: 0 });
  });

  it("keeps everything by default, and refuses a retention shorter than a day", async () => {
    const t = await start(undefined);
    expect(t.broker.retention).toBeNull();
    expect(() =>
      buildConfig(
        {
          ...testConfigDocument(dataDir, { ci: generateApiKey(), other: generateApiKey(), admin: generateApiKey() }),
          retention: { endedGrants: "2h" },
        },
        "test",
      ),
    ).toThrow(/retention.endedGrants: must be at least 1d/);
  });
});
