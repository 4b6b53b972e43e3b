// The HTTP API against a real broker: the contract of DESIGN §4 for requests, grants, tokens, audit and bad input.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createLocalJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/support/logger.js";
import { startTestBroker, type TestBroker } from "./support/broker.js";

let t: TestBroker;
const logLines: string[] = [];

beforeAll(async () => {
  const destination = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  t = await startTestBroker({ logger: createLogger({ level: "debug", destination }) });
});
afterAll(async () => {
  await t?.close();
});

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

async function post(path: string, key: string | null, body?: unknown) {
  return t.broker.app.inject({
    method: "POST",
    url: path,
    headers: key ? auth(key) : {},
    ...(body === undefined ? {} : { payload: body as object }),
  });
}
async function get(path: string, key: string | null) {
  return t.broker.app.inject({ method: "GET", url: path, headers: key ? auth(key) : {} });
}

async function issue(entitlement = "demo-api/read", duration: string | number = "5m", key = t.keys.ci) {
  const response = await post("/v1/requests", key, { entitlement, duration, justification: "deploy 42" });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

describe("requesting and using a token", () => {
  it("issues a signed JWT with the claims the entitlement names, verifiable with the JWKS", async () => {
    const body = await issue("demo-api/write", "10m");
    expect(body.grant.state).toBe("active");
    expect(body.request.decision.outcome).toBe("allow");
    const token: string = body.credential.fields.token;
    expect(body.credential.env.EPHEMERA_ACCESS_TOKEN).toBe(token);
    const jwks = (await get("/.well-known/jwks.json", null)).json();
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: "http://127.0.0.1:8720",
      audience: "https://demo-api.test",
    });
    expect(protectedHeader.alg).toBe("EdDSA");
    expect(payload).toMatchObject({ sub: "ci-deploy", scope: "demo.read demo.write", jti: body.grant.id });
    expect(payload.exp).toBe(Math.floor(Date.parse(body.grant.expiresAt) / 1000));
  });

  it("introspection answers active until the grant is completed, then inactive at once", async () => {
    const body = await issue();
    const token: string = body.credential.fields.token;
    const before = await post("/v1/introspect", t.keys.other, { token });
    expect(before.json()).toMatchObject({ active: true, sub: "ci-deploy", jti: body.grant.id });
    const form = await t.broker.app.inject({
      method: "POST",
      url: "/v1/introspect",
      headers: { ...auth(t.keys.other), "content-type": "application/x-www-form-urlencoded" },
      payload: `token=${encodeURIComponent(token)}`,
    });
    expect(form.json().active).toBe(true);

    const done = await post(`/v1/grants/${body.grant.id}/complete`, t.keys.ci);
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ state: "verified", removed: true, endReason: "completed" });
    expect(done.json().evidence.checks.length).toBeGreaterThan(0);
    expect((await post("/v1/introspect", t.keys.other, { token })).json()).toEqual({ active: false });
  });

  it("renews with a fresh token whose exp follows the grant, never past the maximum", async () => {
    const body = await issue("demo-api/write", "5m");
    const renewed = await post(`/v1/grants/${body.grant.id}/renew`, t.keys.ci, { duration: "1h" });
    expect(renewed.statusCode, renewed.body).toBe(400); // above the entitlement's 15m maximum
    const ok = await post(`/v1/grants/${body.grant.id}/renew`, t.keys.ci, { duration: "15m" });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(Date.parse(ok.json().grant.expiresAt)).toBeLessThanOrEqual(Date.parse(body.grant.maxExpiresAt));
    expect(ok.json().credential.fields.token).not.toBe(body.credential.fields.token);
  });

  it("shows a caller its own grants and requests only; an admin sees all", async () => {
    const mine = await issue();
    await issue("demo-api/read", "5m", t.keys.other);
    const list = (await get("/v1/grants?state=active", t.keys.ci)).json();
    expect(list.grants.length).toBeGreaterThan(0);
    expect(list.grants.every((g: { identity: string }) => g.identity === "ci-deploy")).toBe(true);
    const all = (await get("/v1/grants?state=active&limit=500", t.keys.admin)).json();
    expect(new Set(all.grants.map((g: { identity: string }) => g.identity))).toEqual(
      new Set(["ci-deploy", "other-job"]),
    );
    const request = await get(`/v1/requests/${mine.request.id}`, t.keys.ci);
    expect(request.json().grant.id).toBe(mine.grant.id);
    expect((await get(`/v1/requests/${mine.request.id}`, t.keys.other)).statusCode).toBe(403);
  });

  it("lets an admin by the deprecated admin: true revoke anyone's grant, with a warning at start naming it", async () => {
    const warning = logLines.map((l) => JSON.parse(l)).find((l) => l.identity === "alice" && l.level === 40);
    expect(warning?.msg).toBe(
      "identities.alice.admin is deprecated: it puts 'alice' in group 'admins'; write groups: [admins] instead",
    );
    const body = await issue();
    const revoked = await post(`/v1/grants/${body.grant.id}/revoke`, t.keys.admin, { reason: "incident 7" });
    expect(revoked.json()).toMatchObject({ state: "verified", endReason: "revoked", endedBy: "alice" });
  });
});

describe("bad input is refused with a problem naming what was wrong, and only the refusal is recorded", () => {
  const cases: [string, () => Promise<{ statusCode: number; json(): Record<string, unknown> }>, number, string][] = [
    [
      "malformed JSON",
      () =>
        t.broker.app.inject({
          method: "POST",
          url: "/v1/requests",
          headers: { ...auth(t.keys.ci), "content-type": "application/json" },
          payload: '{"entitlement": "demo-api/read",',
        }),
      400,
      "invalid_request",
    ],
    [
      "unknown entitlement",
      () => post("/v1/requests", t.keys.ci, { entitlement: "demo-api/admin" }),
      400,
      "unknown_entitlement",
    ],
    [
      "a zero duration",
      () => post("/v1/requests", t.keys.ci, { entitlement: "demo-api/read", duration: 0 }),
      400,
      "invalid_duration",
    ],
    [
      "a negative duration",
      () => post("/v1/requests", t.keys.ci, { entitlement: "demo-api/read", duration: -60 }),
      400,
      "invalid_duration",
    ],
    [
      "an unparsable duration",
      () => post("/v1/requests", t.keys.ci, { entitlement: "demo-api/read", duration: "tomorrow" }),
      400,
      "invalid_duration",
    ],
    [
      "a duration above the maximum",
      () => post("/v1/requests", t.keys.ci, { entitlement: "demo-api/read", duration: "2h" }),
      400,
      "duration_too_long",
    ],
    [
      "an unknown field",
      () => post("/v1/requests", t.keys.ci, { entitlement: "demo-api/read", admin: true }),
      400,
      "invalid_request",
    ],
    ["a missing entitlement", () => post("/v1/requests", t.keys.ci, { duration: "5m" }), 400, "invalid_request"],
    [
      // PostgreSQL text cannot hold NUL: refused as bad input on every store, never a 503 from one of them.
      "a NUL character in a text field",
      () => post("/v1/requests", t.keys.ci, { entitlement: "demo-api/read", justification: "deploy\u0000now" }),
      400,
      "invalid_request",
    ],
    ["an unknown grant", () => get("/v1/grants/grt_doesnotexist", t.keys.ci), 404, "not_found"],
    ["a missing key", () => post("/v1/requests", null, { entitlement: "demo-api/read" }), 401, "unauthenticated"],
    [
      "a wrong key",
      () =>
        post("/v1/requests", "ephk_aaaaaaaaaaaaaaaa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", {
          entitlement: "demo-api/read",
        }),
      401,
      "unauthenticated",
    ],
    [
      "a malformed key",
      () => post("/v1/requests", "hunter2", { entitlement: "demo-api/read" }),
      401,
      "unauthenticated",
    ],
    ["the audit log without admin", () => get("/v1/audit", t.keys.ci), 403, "forbidden"],
  ];

  it("refuses wrong JSON types instead of converting them, naming the field", async () => {
    const before = (await t.broker.deps.store.listGrants({ limit: 500 })).length;
    for (const [body, field] of [
      [{ entitlement: ["demo-api/read"], justification: null, ticket: true }, "body.entitlement"],
      [{ entitlement: "demo-api/read", ticket: true }, "body.ticket"],
      [{ entitlement: "demo-api/read", justification: null }, "body.justification"],
      [{ entitlement: "demo-api/read", duration: true }, "body.duration"],
      [{ entitlement: "demo-api/read", breakGlass: "true" }, "body.breakGlass"],
    ] as const) {
      const response = await post("/v1/requests", t.keys.ci, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json()).toMatchObject({ code: "invalid_request", field });
    }
    expect((await t.broker.deps.store.listGrants({ limit: 500 })).length).toBe(before);
    // Query strings are text: `?limit=5` still reads as a number.
    expect((await get("/v1/grants?limit=5", t.keys.admin)).statusCode).toBe(200);
  });

  it("answers an oversized Authorization header with a problem document, not a bare 431", async () => {
    const response = await t.broker.app.inject({
      method: "GET",
      url: "/v1/grants",
      headers: { authorization: `Bearer ${"a".repeat(40_000)}` },
    });
    expect(response.statusCode).toBe(401);
    expect(response.headers["content-type"]).toContain("application/problem+json");
    expect(response.json()).toMatchObject({ code: "unauthenticated" });
    // Over a real connection, past the header limit the parser itself refuses: still a problem document.
    const address = await t.broker.app.listen({ host: "127.0.0.1", port: 0 });
    const big = await fetch(`${address}/v1/grants`, { headers: { authorization: `Bearer ${"a".repeat(40_000)}` } });
    expect(big.status).toBe(401);
    expect(big.headers.get("content-type")).toContain("application/problem+json");
    const huge = await fetch(`${address}/v1/grants`, { headers: { authorization: `Bearer ${"a".repeat(100_000)}` } });
    expect(huge.status).toBe(431);
    expect(huge.headers.get("content-type")).toBe("application/problem+json");
    expect(await huge.json()).toMatchObject({ type: "urn:ephemera:problem:headers_too_large", status: 431 });
  });

  it("names the field that holds a NUL character", async () => {
    const response = await post("/v1/requests", t.keys.ci, {
      entitlement: "demo-api/read",
      intent: { task: "a\u0000" },
    });
    expect(response.json()).toMatchObject({ detail: "body.intent.task: must not contain a NUL character" });
  });

  for (const [what, send, status, code] of cases) {
    it(`${what} → ${status} ${code}`, async () => {
      const before = (await t.broker.deps.store.auditHead()).seq;
      const grantsBefore = (await t.broker.deps.store.listGrants({ limit: 500 })).length;
      const response = await send();
      expect(response.statusCode).toBe(status);
      const problem = response.json();
      expect(problem).toMatchObject({ type: `urn:ephemera:problem:${code}`, status, code });
      expect(String(problem.detail).length).toBeGreaterThan(5);
      expect((await t.broker.deps.store.listGrants({ limit: 500 })).length).toBe(grantsBefore);
      // The first refusal of its kind from this address is its own event; repeats within the window are counted
      // into one summary event instead (test/abuse.test.ts counts them).
      const events = await t.broker.deps.store.listAudit(before, 10);
      expect(events.length).toBeLessThanOrEqual(1);
      for (const event of events) expect(event.outcome).toBe("denied");
    });
  }

  it("another identity's grant → 403 not_owner, and the grant stays active", async () => {
    const body = await issue();
    for (const action of ["complete", "revoke", "renew"]) {
      const response = await post(`/v1/grants/${body.grant.id}/${action}`, t.keys.other, {});
      expect(response.statusCode).toBe(403);
      expect(response.json().code).toBe("not_owner");
    }
    expect((await get(`/v1/grants/${body.grant.id}`, t.keys.other)).statusCode).toBe(403);
    expect((await get(`/v1/grants/${body.grant.id}`, t.keys.ci)).json().state).toBe("active");
  });
});

describe("operations", () => {
  it("serves an OpenAPI 3.1 document covering the endpoints", async () => {
    const doc = (await get("/openapi.json", null)).json();
    expect(doc.openapi).toBe("3.1.0");
    for (const path of [
      "/v1/requests",
      "/v1/requests/{id}",
      "/v1/grants",
      "/v1/grants/{id}/renew",
      "/v1/grants/{id}/complete",
      "/v1/grants/{id}/revoke",
      "/v1/audit",
      "/v1/audit/verify",
      "/v1/introspect",
      "/.well-known/jwks.json",
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
  });

  it("answers health, readiness and metrics", async () => {
    expect((await get("/healthz", null)).statusCode).toBe(200);
    const ready = await get("/readyz", null);
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks.store).toBe(true);
    const metrics = (await get("/metrics", null)).body;
    expect(metrics).toContain("ephemera_grants_issued_total");
    expect(metrics).toContain("ephemera_grants_revoke_failed");
    const counter = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(metrics)?.[1]);
    expect(counter("ephemera_store_change_sets_total")).toBeGreaterThan(0);
    expect(counter("ephemera_store_commits_total")).toBeGreaterThan(0);
    expect(counter("ephemera_store_commits_total")).toBeLessThanOrEqual(counter("ephemera_store_change_sets_total"));
  });

  it("the audit chain verifies and an admin can read it", async () => {
    const verify = (await get("/v1/audit/verify", t.keys.admin)).json();
    expect(verify.ok).toBe(true);
    const events = (await get("/v1/audit?limit=5", t.keys.admin)).json();
    expect(events.events[0].seq).toBe(1);
  });

  it("no secret — API key, token — appears in the logs, the audit log or the database file", async () => {
    const body = await issue();
    const token: string = body.credential.fields.token;
    await post(`/v1/grants/${body.grant.id}/complete`, t.keys.ci);
    await post("/v1/requests", `${t.keys.ci}x`, { entitlement: "demo-api/read" }); // a wrong key, logged nowhere
    const audit = JSON.stringify(await t.broker.deps.store.listAudit(0, 100_000));
    const database = readFileSync(join(t.dataDir, "ephemera.db")).toString("latin1");
    const wal = readFileSync(join(t.dataDir, "ephemera.db-wal")).toString("latin1");
    const logs = logLines.join("");
    const tokenSignature = token.split(".")[2]!;
    for (const secret of [t.keys.ci, t.keys.other, t.keys.admin, tokenSignature]) {
      const part = secret.slice(-20);
      expect(audit).not.toContain(part);
      expect(logs).not.toContain(part);
      expect(database).not.toContain(part);
      expect(wal).not.toContain(part);
    }
  });
});

describe("bodies that are optional", () => {
  it("complete accepts an empty JSON body, and revoke records its reason in the audit log", async () => {
    const first = await issue();
    const empty = await t.broker.app.inject({
      method: "POST",
      url: `/v1/grants/${first.grant.id}/complete`,
      headers: { ...auth(t.keys.ci), "content-type": "application/json" },
      payload: "",
    });
    expect(empty.statusCode, empty.body).toBe(200);
    const second = await issue();
    await post(`/v1/grants/${second.grant.id}/revoke`, t.keys.ci, { reason: "task cancelled by operator" });
    const events = await t.broker.deps.store.auditFor({ grantId: second.grant.id }, 20);
    expect(events.find((e) => e.code === "grant.revoking")?.data).toMatchObject({
      reason: "revoked",
      note: "task cancelled by operator",
    });
  });
});

describe("races", () => {
  it("complete and revoke at once: one wins, the other gets 409, never a 500", async () => {
    for (let i = 0; i < 5; i++) {
      const body = await issue();
      const [a, b] = await Promise.all([
        post(`/v1/grants/${body.grant.id}/complete`, t.keys.ci),
        post(`/v1/grants/${body.grant.id}/revoke`, t.keys.ci),
      ]);
      const statuses = [a.statusCode, b.statusCode].sort();
      expect(statuses, `${a.body} ${b.body}`).toEqual([200, 409]);
      const loser = a.statusCode === 409 ? a : b;
      expect(loser.json().code).toBe("invalid_state");
    }
  });

  it("renew racing complete never answers 500", async () => {
    const body = await issue();
    const [renewed, completed] = await Promise.all([
      post(`/v1/grants/${body.grant.id}/renew`, t.keys.ci, { duration: "10m" }),
      post(`/v1/grants/${body.grant.id}/complete`, t.keys.ci),
    ]);
    expect([renewed.statusCode, completed.statusCode].every((s) => s < 500)).toBe(true);
    expect((await get(`/v1/grants/${body.grant.id}`, t.keys.ci)).json().state).toBe("verified");
  });
});

describe("discovery, targets and admin rotation", () => {
  it("admins reconcile on demand and read the last report; others get 403", async () => {
    expect((await post("/v1/discovery", t.keys.ci, {})).statusCode).toBe(403);
    expect((await get("/v1/discovery", t.keys.ci)).statusCode).toBe(403);
    const before = await get("/v1/discovery", t.keys.admin);
    expect(before.statusCode).toBe(404);
    expect(before.json().code).toBe("not_found");
    const fresh = await post("/v1/discovery", t.keys.admin, {});
    expect(fresh.statusCode, fresh.body).toBe(200);
    const report = fresh.json();
    expect(report.targets).toEqual([
      expect.objectContaining({ target: "demo-api", type: "token", ok: true, accounts: 0, removed: [], standing: [] }),
    ]);
    expect(report.totals).toMatchObject({ accounts: 0, removed: 0, unreachableTargets: 0 });
    const last = (await get("/v1/discovery", t.keys.admin)).json();
    expect(last.generatedAt).toBe(report.generatedAt);
  });

  it("lists targets and rotates one's admin secret, auditing who asked; an unknown target is 404", async () => {
    const targets = (await get("/v1/targets", t.keys.admin)).json();
    expect(targets.targets).toEqual([{ id: "demo-api", type: "token", healthy: true, lastRotation: null }]);
    expect((await post("/v1/targets/demo-api/rotate", t.keys.ci, {})).statusCode).toBe(403);
    const rotated = await post("/v1/targets/demo-api/rotate", t.keys.admin, {});
    expect(rotated.statusCode, rotated.body).toBe(200);
    expect(rotated.json()).toMatchObject({ target: "demo-api", rotated: true });
    expect((await get("/v1/targets", t.keys.admin)).json().targets[0].lastRotation).toBe(rotated.json().rotatedAt);
    const events = await t.broker.deps.store.listAudit(0, 100_000);
    expect(events.find((e) => e.code === "target.rotation_run")).toMatchObject({
      actor: { type: "identity", id: "alice" },
      data: { target: "demo-api", rotated: true },
    });
    const missing = await post("/v1/targets/nope/rotate", t.keys.admin, {});
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe("not_found");
  });
});

describe("identity registry", () => {
  it("registers the configured identities at start and records when each is seen", async () => {
    await get("/v1/grants", t.keys.other);
    await t.broker.identities.flush();
    const other = await t.broker.deps.store.getIdentity("other-job");
    expect(other).toMatchObject({ source: "config", status: "active" });
    expect(other?.lastSeenAt).toEqual(expect.any(Number));
    const started = (await t.broker.deps.store.listAudit(0, 100_000)).find((e) => e.code === "broker.started");
    expect(started?.data.identities).toMatchObject({ registered: expect.any(Number) });
  });

  it("refuses an identity whose registered status is no longer active, on its very next call", async () => {
    const store = t.broker.deps.store;
    const setStatus = async (status: "active" | "offboarded") => {
      const before = await store.getIdentity("other-job");
      if (!before) throw new Error("other-job is not registered");
      const after = {
        ...before,
        status,
        statusReason: status === "active" ? null : "test",
        version: before.version + 1,
      };
      await store.apply({
        writes: [{ kind: "updateIdentity", identity: after, expectedVersion: before.version }],
        audit: [
          {
            time: Date.now(),
            code: "identity.updated",
            severity: "notice",
            outcome: "success",
            actor: { type: "system", id: "test" },
            requestId: null,
            grantId: null,
            identityId: "other-job",
            data: { status },
          },
        ],
      });
    };
    expect((await get("/v1/grants", t.keys.other)).statusCode).toBe(200);
    await setStatus("offboarded");
    try {
      const refused = await get("/v1/grants", t.keys.other);
      // The key is good but its identity is not active: 403 naming the status, not 401.
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toMatchObject({ code: "identity_inactive", identityStatus: "offboarded" });
      expect(refused.json().detail).toContain("offboarded");
    } finally {
      await setStatus("active");
    }
    expect((await get("/v1/grants", t.keys.other)).statusCode).toBe(200);
  });
});
