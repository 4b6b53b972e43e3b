// Every privileged action through the HTTP API is decided by policy: for each, the route is refused (403, the refusal
// audited with the action) for an identity policy does not allow, and served for one it allows. A policy set that
// names every action also shows the admin group's built-in rule gone: an admin the set does not name is refused too.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildConfig } from "../src/config/load.js";
import { type Broker, startBroker } from "../src/main.js";
import { silentLogger } from "../src/support/logger.js";
import { namedApiKeys } from "./support/broker.js";

const POLICY = `
@id("ci") permit (principal in Group::"ci", action in [Action::"request", Action::"renew", Action::"break_glass"], resource in Target::"demo-api");
@id("ops") permit (
  principal in Group::"ops",
  action in [
    Action::"revoke", Action::"review", Action::"offboard", Action::"reactivate", Action::"discover", Action::"rotate",
    Action::"read_audit", Action::"export_audit", Action::"admin"
  ],
  resource
);
@id("no-export-from-tools") forbid (principal, action == Action::"export_audit", resource)
when { context.client.kind == "tool" && context.authMethod == "api_key" };
`;

const NAMES = ["ci", "ops", "stranger", "admin"] as const;
type Name = (typeof NAMES)[number];

describe("privileged actions over HTTP, decided by policy", () => {
  let dir: string;
  let broker: Broker;
  let keys: Record<Name, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-privileged-"));
    const policyDir = join(dir, "policies");
    mkdirSync(policyDir);
    writeFileSync(join(policyDir, "main.cedar"), POLICY);
    const named = namedApiKeys(NAMES);
    keys = named.keys;
    const config = buildConfig(
      {
        dataDir: join(dir, "data"),
        server: { listen: "127.0.0.1:0" },
        logging: { level: "silent" },
        identities: {
          ci: { kind: "pipeline", owner: "team", groups: ["ci"], apiKeys: named.configured("ci") },
          ops: { kind: "human", groups: ["ops"], apiKeys: named.configured("ops") },
          stranger: { kind: "human", groups: ["dev"], apiKeys: named.configured("stranger") },
          // In the admin group, but the policy names every privileged action, so the built-in rule does not apply.
          admin: { kind: "human", groups: ["admins"], apiKeys: named.configured("admin") },
          leaver: { kind: "workload", owner: "team", groups: ["other"] },
          sleeper: { kind: "workload", owner: "team", groups: ["other"] },
        },
        targets: {
          "demo-api": {
            type: "token",
            audience: "https://demo-api.test",
            entitlements: { read: { scopes: ["r"], defaultDuration: "5m", maxDuration: "1h" } },
          },
        },
        policies: { dir: policyDir, watch: false },
      },
      "test",
    );
    broker = await startBroker(config, { logger: silentLogger(), schedule: false });
  });
  afterAll(async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (who: Name, method: "GET" | "POST", url: string, payload?: unknown) =>
    broker.app.inject({
      method,
      url,
      headers: {
        authorization: `Bearer ${keys[who]}`,
        ...(payload === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });

  /** The audit events `who` was refused with since sequence `after`, read by ops (allowed read_audit). */
  async function refusalsOf(who: Name, after: number) {
    const page = await call("ops", "GET", `/v1/audit?after=${after}&limit=1000`);
    expect(page.statusCode).toBe(200);
    const events = page.json().events as { seq: number; outcome: string; actor: { id: string }; data: unknown }[];
    return events.filter((e) => e.actor.id === who && e.outcome === "denied");
  }

  async function head(): Promise<number> {
    const page = await call("ops", "GET", "/v1/audit?limit=1000");
    let after = 0;
    let events = page.json().events as { seq: number }[];
    while (events.length > 0) {
      after = events.at(-1)!.seq;
      events = (await call("ops", "GET", `/v1/audit?after=${after}&limit=1000`)).json().events;
    }
    return after;
  }

  async function grantOfCi(): Promise<string> {
    const issued = await call("ci", "POST", "/v1/requests", { entitlement: "demo-api/read", duration: "5m" });
    expect(issued.statusCode).toBe(201);
    return issued.json().grant.id;
  }

  async function breakGlassOfCi(): Promise<string> {
    const glass = await call("ci", "POST", "/v1/requests", {
      entitlement: "demo-api/read",
      duration: "5m",
      breakGlass: true,
      ticket: "INC-1",
      justification: "outage",
    });
    expect(glass.statusCode).toBe(201);
    return glass.json().request.id;
  }

  type Row = {
    readonly action: string;
    readonly route: string;
    /** Makes what the call acts on and returns the call. */
    readonly prepare: () => Promise<(who: Name) => ReturnType<typeof call>>;
    readonly allowed: number;
  };

  const rows: Row[] = [
    {
      action: "revoke",
      route: "POST /v1/grants/{id}/revoke (another's grant)",
      prepare: async () => {
        const id = await grantOfCi();
        return (who) => call(who, "POST", `/v1/grants/${id}/revoke`, {});
      },
      allowed: 200,
    },
    {
      action: "review",
      route: "POST /v1/requests/{id}/review",
      prepare: async () => {
        const id = await breakGlassOfCi();
        return (who) => call(who, "POST", `/v1/requests/${id}/review`, { outcome: "justified" });
      },
      allowed: 200,
    },
    {
      action: "offboard",
      route: "POST /v1/identities/{id}/offboard",
      prepare: async () => (who) => call(who, "POST", "/v1/identities/leaver/offboard", { reason: "left" }),
      allowed: 200,
    },
    {
      action: "reactivate",
      route: "POST /v1/identities/{id}/reactivate",
      prepare: async () => (who) => call(who, "POST", "/v1/identities/sleeper/reactivate", { reason: "back" }),
      allowed: 200,
    },
    {
      action: "discover",
      route: "POST /v1/discovery",
      prepare: async () => (who) => call(who, "POST", "/v1/discovery"),
      allowed: 200,
    },
    {
      action: "discover",
      route: "GET /v1/discovery",
      prepare: async () => (who) => call(who, "GET", "/v1/discovery"),
      allowed: 200,
    },
    {
      action: "rotate",
      route: "POST /v1/targets/{id}/rotate",
      prepare: async () => (who) => call(who, "POST", "/v1/targets/demo-api/rotate"),
      allowed: 200,
    },
    {
      action: "read_audit",
      route: "GET /v1/audit",
      prepare: async () => (who) => call(who, "GET", "/v1/audit?limit=1"),
      allowed: 200,
    },
    {
      action: "read_audit",
      route: "GET /v1/audit/verify",
      prepare: async () => (who) => call(who, "GET", "/v1/audit/verify"),
      allowed: 200,
    },
    {
      action: "export_audit",
      route: "GET /v1/audit/export",
      prepare: async () => (who) => call(who, "GET", "/v1/audit/export?limit=5&format=ocsf"),
      allowed: 200,
    },
    {
      action: "admin",
      route: "GET /v1/identities",
      prepare: async () => (who) => call(who, "GET", "/v1/identities"),
      allowed: 200,
    },
    {
      action: "admin",
      route: "GET /v1/identities/{id}",
      prepare: async () => (who) => call(who, "GET", "/v1/identities/ci"),
      allowed: 200,
    },
    {
      action: "admin",
      route: "GET /v1/targets",
      prepare: async () => (who) => call(who, "GET", "/v1/targets"),
      allowed: 200,
    },
    {
      action: "admin",
      route: "GET /v1/report",
      prepare: async () => (who) => call(who, "GET", "/v1/report"),
      allowed: 200,
    },
    {
      action: "admin",
      route: "POST /v1/audit/hmac",
      prepare: async () => (who) => call(who, "POST", "/v1/audit/hmac", { value: "jti:x" }),
      allowed: 200,
    },
    {
      action: "admin",
      route: "GET /v1/grants?identity= (another's grants)",
      prepare: async () => (who) => call(who, "GET", "/v1/grants?identity=ci"),
      allowed: 200,
    },
  ];

  for (const row of rows) {
    it(`${row.action}: ${row.route} is refused and audited when policy says no, served when it says yes`, async () => {
      const act = await row.prepare();
      for (const who of ["stranger", "admin"] as const) {
        const before = await head();
        const refused = await act(who);
        expect(refused.statusCode, `${who}: ${refused.body}`).toBe(403);
        const audited = await refusalsOf(who, before);
        expect(audited).toHaveLength(1);
        // The use case that decides names the action in the refusal (review is refused where a request is loaded).
        if (row.action !== "review") expect(audited[0]!.data).toMatchObject({ action: row.action });
      }
      const served = await act("ops");
      expect(served.statusCode, served.body).toBe(row.allowed);
    });
  }

  it("shows policy the HTTP request behind a privileged action: how the caller authenticated and its client", async () => {
    const exported = (userAgent: string) =>
      broker.app.inject({
        method: "GET",
        url: "/v1/audit/export?limit=1",
        headers: { authorization: `Bearer ${keys.ops}`, "user-agent": userAgent },
      });
    const before = await head();
    const fromCurl = await exported("curl/8.5.0");
    expect(fromCurl.statusCode).toBe(403);
    expect((await refusalsOf("ops", before))[0]?.data).toMatchObject({
      action: "export_audit",
      policies: ["no-export-from-tools"],
    });
    expect((await exported("ephemera-cli/1.0")).statusCode).toBe(200);
  });

  it("the console session reports what policy lets each identity do", async () => {
    const session = async (who: Name) =>
      (await broker.app.inject({ method: "POST", url: "/v1/sessions", payload: { apiKey: keys[who] } })).json();
    const ops = await session("ops");
    expect(ops.identity).toMatchObject({ admin: true });
    expect([...ops.identity.privileges].sort()).toEqual(["admin", "discover", "export_audit", "read_audit", "rotate"]);
  });
});
