// EphemeraClient against a local HTTP imitation: requests it sends, problem mapping, connection errors, fromEnv.
import { afterEach, describe, expect, it } from "vitest";
import { EphemeraClient, fromEnv } from "./client.js";
import { EphemeraApiError, EphemeraConfigError, EphemeraConnectionError } from "./errors.js";
import { type FakeBroker, GOOD_KEY, imitateApi, problem, startFakeBroker } from "./testing/fake-broker.js";

let broker: FakeBroker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("EphemeraClient", () => {
  it("tells the broker when a person drives the CLI, on every call", async () => {
    broker = await startFakeBroker(imitateApi().handler);
    const client = new EphemeraClient({ url: broker.url, token: GOOD_KEY, clientKind: "cli", interactive: true });
    await client.requestNow({ entitlement: "demo-api/read" });
    await client.listGrants();
    expect(broker.requests.map((r) => r.headers["x-ephemera-client"])).toEqual([
      "cli; interactive",
      "cli; interactive",
    ]);
    const quiet = new EphemeraClient({ url: broker.url, token: GOOD_KEY });
    await quiet.listGrants();
    expect(broker.requests.at(-1)?.headers["x-ephemera-client"]).toBeUndefined();
  });

  it("sends the bearer key and a JSON body, and returns the 201 body", async () => {
    broker = await startFakeBroker(imitateApi().handler);
    const client = new EphemeraClient({ url: `${broker.url}/`, token: GOOD_KEY });
    const result = await client.requestNow({ entitlement: "demo-api/read", duration: "5m", justification: "deploy" });
    expect(result.grant.state).toBe("active");
    expect(result.credential.env.EPHEMERA_ACCESS_TOKEN).toBe(`tok-${result.grant.id}`);
    const sent = broker.requests[0]!;
    expect(sent.method).toBe("POST");
    expect(sent.url).toBe("/v1/requests");
    expect(sent.headers.authorization).toBe(`Bearer ${GOOD_KEY}`);
    expect(sent.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(sent.body)).toEqual({ entitlement: "demo-api/read", duration: "5m", justification: "deploy" });
  });

  it("maps a problem document to EphemeraApiError with status, code, detail and the problem", async () => {
    broker = await startFakeBroker(imitateApi().handler);
    const client = new EphemeraClient({ url: broker.url, token: GOOD_KEY });
    const error = await caught(client.requestNow({ entitlement: "demo-api/write" }));
    expect(error).toBeInstanceOf(EphemeraApiError);
    const api = error as EphemeraApiError;
    expect(api.status).toBe(403);
    expect(api.code).toBe("denied");
    expect(api.detail).toBe("no rule allows demo-api/write");
    expect(api.problem?.requestId).toBe("req1");
    expect(api.problem?.type).toBe("urn:ephemera:problem:denied");
    expect(api.message).toBe("no rule allows demo-api/write (denied)");
    expect(`${api.message}${api.stack}${JSON.stringify(api)}`).not.toContain(GOOD_KEY);
  });

  it.each([
    [401, "unauthenticated"],
    [404, "not_found"],
    [409, "invalid_state"],
    [503, "unavailable"],
  ])("keeps status %i and code %s", async (status, code) => {
    broker = await startFakeBroker(() => problem(status, code, "nope"));
    const error = await caught(new EphemeraClient({ url: broker.url, token: GOOD_KEY }).getGrant("g1"));
    expect(error).toMatchObject({ name: "EphemeraApiError", status, code, detail: "nope" });
  });

  it("reports an answer that is not a problem document by its HTTP status", async () => {
    broker = await startFakeBroker(() => ({ status: 502, body: "<html>bad gateway</html>", contentType: "text/html" }));
    const error = await caught(new EphemeraClient({ url: broker.url, token: GOOD_KEY }).getGrant("g1"));
    expect(error).toMatchObject({ name: "EphemeraApiError", status: 502, code: "http_502", problem: null });
  });

  it("builds the grant list query and encodes ids in paths", async () => {
    broker = await startFakeBroker(() => ({ status: 200, body: { grants: [], next: null } }));
    const client = new EphemeraClient({ url: broker.url, token: GOOD_KEY });
    await client.listGrants({ state: ["active", "revoking"], identity: "ci", target: "db", after: "g9", limit: 5 });
    await client.listGrants();
    await client.getGrant("a/b");
    expect(broker.requests.map((r) => r.url)).toEqual([
      "/v1/grants?state=active%2Crevoking&identity=ci&target=db&after=g9&limit=5",
      "/v1/grants",
      "/v1/grants/a%2Fb",
    ]);
  });

  it("sends complete, revoke and renew bodies the API accepts", async () => {
    broker = await startFakeBroker(() => ({ status: 200, body: {} }));
    const client = new EphemeraClient({ url: broker.url, token: GOOD_KEY });
    await client.complete("g1");
    await client.revoke("g1", "incident");
    await client.renew("g1", "10m");
    await client.renew("g1");
    expect(broker.requests.map((r) => [r.url, r.body])).toEqual([
      ["/v1/grants/g1/complete", "{}"],
      ["/v1/grants/g1/revoke", '{"reason":"incident"}'],
      ["/v1/grants/g1/renew", '{"duration":"10m"}'],
      ["/v1/grants/g1/renew", "{}"],
    ]);
  });

  it("introspects form-encoded, per RFC 7662", async () => {
    broker = await startFakeBroker(() => ({ status: 200, body: { active: false } }));
    const result = await new EphemeraClient({ url: broker.url, token: GOOD_KEY }).introspect("a+b=c");
    expect(result.active).toBe(false);
    expect(broker.requests[0]?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(new URLSearchParams(broker.requests[0]?.body).get("token")).toBe("a+b=c");
  });

  it("reads the audit log and its verification", async () => {
    broker = await startFakeBroker(({ url }) =>
      url.startsWith("/v1/audit/verify")
        ? { status: 200, body: { ok: true, count: 7 } }
        : { status: 200, body: { events: [], next: null } },
    );
    const client = new EphemeraClient({ url: broker.url, token: GOOD_KEY });
    await client.audit(10, 50);
    expect(await client.verifyAudit()).toEqual({ ok: true, count: 7 });
    expect(broker.requests[0]?.url).toBe("/v1/audit?after=10&limit=50");
  });

  it("throws EphemeraConnectionError when nothing listens, naming the URL but not the key", async () => {
    const closed = await startFakeBroker(() => ({ status: 200 }));
    await closed.close();
    const error = await caught(new EphemeraClient({ url: closed.url, token: GOOD_KEY }).getGrant("g1"));
    expect(error).toBeInstanceOf(EphemeraConnectionError);
    expect((error as Error).message).toBe(`cannot reach the broker at ${closed.url} (ECONNREFUSED)`);
    expect((error as Error).message).not.toContain(GOOD_KEY);
  });

  it("gives up after timeoutMs with EphemeraConnectionError", async () => {
    broker = await startFakeBroker(() => "hang");
    const client = new EphemeraClient({ url: broker.url, token: GOOD_KEY, timeoutMs: 200 });
    const error = await caught(client.getGrant("g1"));
    expect(error).toBeInstanceOf(EphemeraConnectionError);
    expect((error as Error).message).toContain("no answer from the broker");
  });

  it("uses an injected fetch", async () => {
    const seen: string[] = [];
    const client = new EphemeraClient({
      url: "http://broker.invalid",
      token: GOOD_KEY,
      fetch: async (input) => {
        seen.push(input);
        return new Response(JSON.stringify({ active: true }), { status: 200 });
      },
    });
    expect(await client.introspect("t")).toEqual({ active: true });
    expect(seen).toEqual(["http://broker.invalid/v1/introspect"]);
  });

  it("refuses a malformed URL or token without echoing the token", () => {
    expect(() => new EphemeraClient({ url: "not a url", token: GOOD_KEY })).toThrow(EphemeraConfigError);
    expect(() => new EphemeraClient({ url: "ftp://x", token: GOOD_KEY })).toThrow(/http or https/);
    expect(() => new EphemeraClient({ url: "http://x", token: "has space" })).toThrow(/^token: /);
  });
});

describe("fromEnv", () => {
  it("names the missing variable", () => {
    expect(() => fromEnv({ EPHEMERA_TOKEN: GOOD_KEY })).toThrow(/^EPHEMERA_URL is not set/);
    expect(() => fromEnv({ EPHEMERA_URL: "http://127.0.0.1:1" })).toThrow(/^EPHEMERA_TOKEN is not set/);
    expect(() => fromEnv({ EPHEMERA_URL: "::", EPHEMERA_TOKEN: GOOD_KEY })).toThrow(/^EPHEMERA_URL: not a URL/);
  });

  it("builds a client from the environment", () => {
    const client = fromEnv({ EPHEMERA_URL: "http://u:p@127.0.0.1:8720/", EPHEMERA_TOKEN: GOOD_KEY });
    expect(client.url).toBe("http://127.0.0.1:8720");
    expect(JSON.stringify(client)).not.toContain(GOOD_KEY);
  });
});
