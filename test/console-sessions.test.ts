// Console sessions over HTTP: an API key is exchanged for an HttpOnly cookie kept server-side under a hash; every
// change made with the cookie needs the CSRF token; sessions end on sign-out and expiry; only admins and approvers
// get one; /ui is served under a strict CSP.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildConfig } from "../src/config/load.js";
import { CONSOLE_CSP } from "../src/http/console/static.js";
import { SESSION_NAMESPACE, SESSION_TTL_MS } from "../src/lifecycle/console/console-sessions.js";
import { type Broker, startBroker } from "../src/main.js";
import { ManualClock } from "../src/support/clock.js";
import { silentLogger } from "../src/support/logger.js";
import { namedApiKeys } from "./support/broker.js";

const POLICY = `
@id("write") @approval("1 from Group::\\"sre\\"")
permit (principal in Group::"ci", action == Action::"request", resource == Entitlement::"demo-api/write");
@id("approve") permit (principal in Group::"sre", action == Action::"approve", resource in Target::"demo-api");
@id("glass") permit (principal in Group::"ci", action == Action::"break_glass", resource == Entitlement::"demo-api/write");
`;

const NAMES = ["ci", "bob", "admin", "idle"] as const;
type Name = (typeof NAMES)[number];

describe("console sessions", () => {
  let dir: string;
  let broker: Broker;
  let keys: Record<Name, string>;
  let clock: ManualClock;
  let configure: (bobKeys?: { id: string; hash: string }[]) => ReturnType<typeof buildConfig>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-console-"));
    const policyDir = join(dir, "policies");
    mkdirSync(policyDir);
    writeFileSync(join(policyDir, "main.cedar"), POLICY);
    const named = namedApiKeys(NAMES);
    keys = named.keys;
    const apiKeys = named.configured;
    configure = (bobKeys = apiKeys("bob")) =>
      buildConfig(
        {
          dataDir: join(dir, "data"),
          server: { listen: "127.0.0.1:0" },
          logging: { level: "silent" },
          identities: {
            ci: { kind: "pipeline", owner: "team", groups: ["ci"], apiKeys: apiKeys("ci") },
            bob: { kind: "human", groups: ["sre"], apiKeys: bobKeys },
            admin: { kind: "human", admin: true, apiKeys: apiKeys("admin") },
            idle: { kind: "human", groups: ["readers"], apiKeys: apiKeys("idle") },
          },
          targets: {
            "demo-api": {
              type: "token",
              audience: "https://demo-api.test",
              entitlements: { write: { scopes: ["w"], defaultDuration: "5m", maxDuration: "15m" } },
            },
          },
          policies: { dir: policyDir, watch: false },
        },
        "test",
      );
    clock = new ManualClock(Date.now());
    broker = await startBroker(configure(), { logger: silentLogger(), listen: false, schedule: false, clock });
  });
  afterEach(async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const inject = (
    method: "GET" | "POST" | "DELETE",
    url: string,
    options: { cookie?: string; csrf?: string; bearer?: string; payload?: unknown } = {},
  ) =>
    broker.app.inject({
      method,
      url,
      headers: {
        ...(options.cookie ? { cookie: `ephemera_session=${options.cookie}` } : {}),
        ...(options.csrf ? { "x-csrf-token": options.csrf } : {}),
        ...(options.bearer ? { authorization: `Bearer ${options.bearer}` } : {}),
        ...(options.payload === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(options.payload === undefined ? {} : { payload: JSON.stringify(options.payload) }),
    });

  async function signIn(who: Name): Promise<{ cookie: string; csrf: string; setCookie: string }> {
    const response = await inject("POST", "/v1/sessions", { payload: { apiKey: keys[who] } });
    expect(response.statusCode, response.body).toBe(201);
    const setCookie = String(response.headers["set-cookie"]);
    const cookie = /^ephemera_session=([^;]+);/.exec(setCookie)?.[1];
    expect(cookie).toBeDefined();
    return { cookie: cookie ?? "", csrf: response.json().csrfToken, setCookie };
  }

  it("signs an approver in with an HttpOnly SameSite=Strict cookie; the key and the token are not stored", async () => {
    const { cookie, csrf, setCookie } = await signIn("bob");
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Strict");
    expect(setCookie).toContain("Path=/");
    expect(setCookie).not.toContain("Secure"); // plain HTTP here; Secure over TLS
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const me = await inject("GET", "/v1/sessions", { cookie });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ identity: { id: "bob", admin: false }, csrfToken: csrf });

    const hash = createHash("sha256").update(cookie).digest("hex");
    const stored = await broker.deps.store.getState(SESSION_NAMESPACE, hash);
    expect(stored?.value).toMatchObject({ identityId: "bob" });
    const raw = JSON.stringify(await broker.deps.store.listState(SESSION_NAMESPACE));
    expect(raw).not.toContain(cookie);
    expect(raw).not.toContain(keys.bob);
    const audit = JSON.stringify(await broker.deps.store.listAudit(0, 1000));
    expect(audit).toContain("console.signed_in");
    expect(audit).not.toContain(cookie);
    expect(audit).not.toContain(keys.bob);
    // The address and the key id, as in every other event, only as keyed HMACs.
    const signedIn = (await broker.deps.store.listAudit(0, 1000)).find((e) => e.code === "console.signed_in");
    expect(signedIn?.data).toMatchObject({ sourceAddressHmac: broker.deps.auditHmac.tag("127.0.0.1") });
    expect(JSON.stringify(signedIn)).not.toContain("127.0.0.1");
    expect(JSON.stringify(signedIn)).not.toContain(keys.bob.split("_")[1]!);
  });

  it("refuses a wrong key (401), a workload token-less identity without approve rights (403) and a bad body (400)", async () => {
    const wrong = await inject("POST", "/v1/sessions", { payload: { apiKey: "ephk_nope_nope" } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers["set-cookie"]).toBeUndefined();
    const notApprover = await inject("POST", "/v1/sessions", { payload: { apiKey: keys.idle } });
    expect(notApprover.statusCode).toBe(403);
    expect(notApprover.json().detail ?? notApprover.json().title).toBeTruthy();
    const requester = await inject("POST", "/v1/sessions", { payload: { apiKey: keys.ci } });
    expect(requester.statusCode).toBe(403);
    const empty = await inject("POST", "/v1/sessions", { payload: {} });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().detail ?? "").toContain("apiKey");
    // Admins may sign in whatever policy says.
    expect((await signIn("admin")).csrf).toBeTruthy();
  });

  it("takes sign-in only as JSON: a cross-site HTML form cannot sign a victim into another's session", async () => {
    const form = await broker.app.inject({
      method: "POST",
      url: "/v1/sessions",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: `apiKey=${encodeURIComponent(keys.admin)}`,
    });
    expect(form.statusCode).toBe(415);
    expect(form.headers["set-cookie"]).toBeUndefined();
    // Introspection, which RFC 7662 sends form-encoded, still takes forms.
    const introspect = await broker.app.inject({
      method: "POST",
      url: "/v1/introspect",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Bearer ${keys.ci}` },
      payload: "token=not-a-token",
    });
    expect(introspect.statusCode, introspect.body).toBe(200);
  });

  it("needs the CSRF token on every change made with the cookie", async () => {
    const created = await inject("POST", "/v1/requests", {
      bearer: keys.ci,
      payload: { entitlement: "demo-api/write", duration: "5m", justification: "deploy" },
    });
    expect(created.statusCode).toBe(202);
    const request = created.json().request;
    const { cookie, csrf } = await signIn("bob");

    const queue = await inject("GET", "/v1/requests?state=pending", { cookie }); // reads need no token
    expect(queue.json().requests.map((r: { id: string }) => r.id)).toEqual([request.id]);
    const detail = await inject("GET", `/v1/requests/${request.id}`, { cookie });
    expect(detail.json().requester).toEqual({ id: "ci", kind: "pipeline", owner: "team" });

    const approve = (token?: string) =>
      inject("POST", `/v1/requests/${request.id}/approve`, {
        cookie,
        ...(token === undefined ? {} : { csrf: token }),
        payload: { requestHash: request.requestHash },
      });
    const missing = await approve();
    expect(missing.statusCode).toBe(403);
    expect(missing.json().detail ?? missing.json().title).toMatch(/csrf/i);
    expect((await approve(`${csrf.slice(0, -1)}x`)).statusCode).toBe(403);
    expect((await inject("GET", `/v1/requests/${request.id}`, { cookie })).json().request.state).toBe("pending");
    const ok = await approve(csrf);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().request.state).toBe("approved");
    expect(ok.json().request.approvals[0].approver).toBe("bob");

    // A bearer credential wins over a cookie sent alongside; it needs no CSRF token.
    const both = await inject("GET", "/v1/grants", { cookie, bearer: keys.ci });
    expect(both.statusCode).toBe(200);
  });

  it("ends on sign-out and on expiry; a signed-out or unknown cookie is 401 on the API and 204 on GET /v1/sessions", async () => {
    const { cookie, csrf } = await signIn("bob");
    expect((await inject("DELETE", "/v1/sessions", { cookie })).statusCode).toBe(403); // sign-out needs the token too
    const out = await inject("DELETE", "/v1/sessions", { cookie, csrf });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers["set-cookie"])).toContain("Max-Age=0");
    expect((await inject("GET", "/v1/grants", { cookie })).statusCode).toBe(401);
    expect((await inject("GET", "/v1/sessions", { cookie })).statusCode).toBe(204);
    expect((await inject("GET", "/v1/sessions")).statusCode).toBe(204);
    expect(JSON.stringify(await broker.deps.store.listAudit(0, 1000))).toContain("console.signed_out");

    const again = await signIn("admin");
    expect((await inject("GET", "/v1/grants", { cookie: again.cookie })).statusCode).toBe(200);
    clock.advance(SESSION_TTL_MS + 1);
    expect((await inject("GET", "/v1/grants", { cookie: again.cookie })).statusCode).toBe(401);
  });

  it("ends after 30 minutes unused, however long it may still live; use moves the idle clock", async () => {
    const { cookie } = await signIn("admin");
    clock.advance(29 * 60_000);
    expect((await inject("GET", "/v1/grants", { cookie })).statusCode).toBe(200);
    clock.advance(29 * 60_000);
    expect((await inject("GET", "/v1/grants", { cookie })).statusCode).toBe(200);
    clock.advance(31 * 60_000);
    expect((await inject("GET", "/v1/grants", { cookie })).statusCode).toBe(401);
    expect(JSON.stringify(await broker.deps.store.listAudit(0, 1000))).toContain("console.session_active");
  });

  it("ends when the API key that signed in is removed, on the next call", async () => {
    const { cookie } = await signIn("bob");
    expect((await inject("GET", "/v1/grants", { cookie })).statusCode).toBe(200);
    await broker.close();
    // The same store, with bob's key taken out of the configuration (bob keeps another key and his rights).
    const other = namedApiKeys(["bob"] as const);
    broker = await startBroker(configure(other.configured("bob")), {
      logger: silentLogger(),
      listen: false,
      schedule: false,
      clock,
    });
    expect((await inject("GET", "/v1/grants", { cookie })).statusCode).toBe(401);
    expect((await inject("GET", "/v1/grants", { bearer: other.keys.bob })).statusCode).toBe(200);
  });

  it("timelines: a request's and a grant's audit events, readable by whoever may read them; reviewers see break-glass uses", async () => {
    const glass = await inject("POST", "/v1/requests", {
      bearer: keys.ci,
      payload: {
        entitlement: "demo-api/write",
        duration: "5m",
        breakGlass: true,
        ticket: "INC-1",
        justification: "outage",
      },
    });
    expect(glass.statusCode, glass.body).toBe(201);
    const requestId = glass.json().request.id as string;
    const grantId = glass.json().grant.id as string;

    // bob may review it, so he finds it in his list and may read it and its timeline.
    const { cookie } = await signIn("bob");
    const listed = await inject("GET", "/v1/requests?state=issued", { cookie });
    expect(listed.json().requests.map((r: { id: string }) => r.id)).toEqual([requestId]);
    const timeline = await inject("GET", `/v1/requests/${requestId}/events`, { cookie });
    expect(timeline.statusCode, timeline.body).toBe(200);
    const codes = timeline.json().events.map((e: { code: string }) => e.code);
    expect(codes).toContain("grant.issued");
    expect(codes).toContain("break_glass.used");
    const seqs = timeline.json().events.map((e: { seq: number }) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a: number, b: number) => a - b));
    // The grant itself is its holder's and the admins'.
    expect((await inject("GET", `/v1/grants/${grantId}/events`, { cookie })).statusCode).toBeGreaterThanOrEqual(403);
    const own = await inject("GET", `/v1/grants/${grantId}/events`, { bearer: keys.ci });
    expect(own.statusCode).toBe(200);
    expect(own.json().events.map((e: { code: string }) => e.code)).toEqual(expect.arrayContaining(codes));
    // Someone with no part in it reads neither.
    expect(
      (await inject("GET", `/v1/requests/${requestId}/events`, { bearer: keys.idle })).statusCode,
    ).toBeGreaterThanOrEqual(403);
    expect((await inject("GET", "/v1/requests?state=issued", { bearer: keys.idle })).json().requests).toEqual([]);

    // Once reviewed, it leaves bob's list.
    const { cookie: c2, csrf } = await signIn("bob");
    const reviewed = await inject("POST", `/v1/requests/${requestId}/review`, {
      cookie: c2,
      csrf,
      payload: { outcome: "justified" },
    });
    expect(reviewed.statusCode, reviewed.body).toBe(200);
    expect((await inject("GET", "/v1/requests?state=issued", { cookie: c2 })).json().requests).toEqual([]);
  });

  it("serves /ui with a strict CSP and the usual hardening headers", async () => {
    const redirect = await broker.app.inject({ method: "GET", url: "/ui" });
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe("/ui/");
    const page = await broker.app.inject({ method: "GET", url: "/ui/" });
    expect(page.headers["content-security-policy"]).toBe(CONSOLE_CSP);
    expect(page.headers["x-frame-options"]).toBe("DENY");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    // Built (npm run build runs before the tests): the page; otherwise a problem that says how to build it.
    if (page.statusCode === 200) expect(page.body).toContain('<div id="app">');
    else expect(page.json().detail ?? page.json().title).toMatch(/npm run build|no console file/);
    const traversal = await broker.app.inject({ method: "GET", url: "/ui/..%2fpackage.json" });
    expect(traversal.statusCode).toBe(404);
    expect(CONSOLE_CSP).not.toContain("unsafe-inline");
  });

  it("describes the console's routes in the OpenAPI document", async () => {
    const paths = Object.keys((await broker.app.inject({ method: "GET", url: "/openapi.json" })).json().paths);
    expect(paths).toEqual(
      expect.arrayContaining(["/v1/sessions", "/v1/requests/{id}/events", "/v1/grants/{id}/events"]),
    );
    expect(paths.some((p) => p.startsWith("/ui"))).toBe(false);
  });
});
