// Receipts and the privilege report over the HTTP API of a real broker: GET /v1/grants/{id} shows the receipt, token
// introspection counts as use, GET /v1/report answers admins only and refuses a bad range by name.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "./support/broker.js";

let t: TestBroker;
beforeAll(async () => {
  t = await startTestBroker();
});
afterAll(async () => {
  await t?.close();
});

const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const get = (url: string, key: string) => t.broker.app.inject({ method: "GET", url, headers: auth(key) });
const post = (url: string, key: string, payload: object = {}) =>
  t.broker.app.inject({ method: "POST", url, headers: auth(key), payload });

async function issue() {
  const response = await post("/v1/requests", t.keys.ci, { entitlement: "demo-api/read", duration: "5m" });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

describe("removal receipts over HTTP", () => {
  it("GET /v1/grants/{id} shows the receipt once removal is verified; a token introspected counts as used", async () => {
    const used = await issue();
    const idle = await issue();
    expect((await get(`/v1/grants/${used.grant.id}`, t.keys.ci)).json().receipt).toBeNull();
    const introspected = await post("/v1/introspect", t.keys.other, { token: used.credential.fields.token });
    expect(introspected.json().active).toBe(true);

    for (const body of [used, idle]) {
      expect((await post(`/v1/grants/${body.grant.id}/complete`, t.keys.ci)).statusCode).toBe(200);
    }
    const shown = (await get(`/v1/grants/${used.grant.id}`, t.keys.ci)).json();
    expect(shown.receipt).toMatchObject({
      removed: [`token jti ${used.grant.handle}`],
      sessionsEnded: null,
      revokedAt: shown.revokedAt,
      verifiedAt: shown.verifiedAt,
      verification: shown.evidence,
      unused: false,
    });
    expect(shown.receipt.firstUsedAt).not.toBeNull();
    expect(shown.firstUsedAt).toBe(shown.receipt.firstUsedAt);
    // A token never introspected may still have been used (resource servers can verify it offline): no claim.
    // The receipt says so: how usage was looked for, and what that misses.
    expect((await get(`/v1/grants/${idle.grant.id}`, t.keys.ci)).json().receipt).toMatchObject({
      unused: null,
      usageObservation: { method: "introspection", detail: expect.stringContaining("verified offline") },
    });
    // The receipt never carries the credential.
    expect(JSON.stringify(shown)).not.toContain(used.credential.fields.token);
    const audit = (await get(`/v1/audit?grant=${used.grant.id}`, t.keys.admin)).json();
    const verified = audit.events.find((e: { code: string }) => e.code === "grant.verified");
    expect(verified.data.receipt.removed).toEqual(shown.receipt.removed);
  });
});

describe("GET /v1/report", () => {
  it("answers admins with the documented shape, counting the range's grants", async () => {
    const from = new Date(Date.now() - 60_000).toISOString();
    const body = await issue();
    await post(`/v1/grants/${body.grant.id}/complete`, t.keys.ci);
    const to = new Date(Date.now() + 60_000).toISOString();
    const response = await get(`/v1/report?from=${from}&to=${to}`, t.keys.admin);
    expect(response.statusCode, response.body).toBe(200);
    const report = response.json();
    expect(Object.keys(report).sort()).toEqual([
      "discoveredAt",
      "from",
      "grants",
      "privilegeSeconds",
      "standing",
      "to",
    ]);
    expect(report.from).toBe(from);
    expect(report.grants.issued).toBeGreaterThanOrEqual(1);
    expect(report.grants.verifiedRemoval).toBeGreaterThanOrEqual(1);
    expect(report.grants.verifiedShare).toBe(report.grants.verifiedRemoval / report.grants.ended);
    // A completed token never introspected: not provably unused, counted as not observable.
    expect(report.grants).toMatchObject({ unused: 0, usageNotObservable: expect.any(Number) });
    expect(report.grants.usageNotObservable).toBeGreaterThanOrEqual(1);
    expect(report.privilegeSeconds.median).toBeGreaterThanOrEqual(0);
    expect(Array.isArray(report.standing)).toBe(true);
    // Without a range: the last day.
    expect((await get("/v1/report", t.keys.admin)).json().grants.issued).toBeGreaterThanOrEqual(1);
  });

  it("refuses callers who are not admins, and a bad range by name", async () => {
    expect((await get("/v1/report", t.keys.ci)).statusCode).toBe(403);
    const bad = await get("/v1/report?from=yesterday", t.keys.admin);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toContain("from");
    const reversed = await get("/v1/report?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z", t.keys.admin);
    expect(reversed.statusCode).toBe(400);
    expect(reversed.json().detail).toContain("from: must be before to");
    expect((await get("/v1/report?since=1", t.keys.admin)).statusCode).toBe(400);
  });

  it("is in the OpenAPI document, and /metrics lists the new series", async () => {
    const doc = t.broker.app.inject({ method: "GET", url: "/openapi.json" });
    expect((await doc).json().paths["/v1/report"]).toBeDefined();
    const metrics = (await t.broker.app.inject({ method: "GET", url: "/metrics" })).body;
    for (const name of [
      "ephemera_grants_unused_total",
      "ephemera_approval_latency_seconds",
      "ephemera_privilege_duration_seconds",
      "ephemera_removal_overrun_seconds",
      "ephemera_grants_revoke_failed",
      "ephemera_standing_accounts",
      "ephemera_grants_active",
      "ephemera_decisions_total",
      "ephemera_grants_renewed_total",
      "ephemera_removal_failures_total",
    ]) {
      expect(metrics, name).toContain(name);
    }
  });
});
