// Identities over HTTP and the CLI against a real broker: the inventory, a dormant identity refused with a 403 naming
// its status until reactivated, and offboarding that removes every grant and stops the identity's keys.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../src/cli/exit-codes.js";
import { run } from "../src/cli/testing/run-cli.js";
import { buildConfig } from "../src/config/load.js";
import { generateApiKey } from "../src/identity/api-keys.js";
import { type Broker, startBroker } from "../src/main.js";
import { ManualClock } from "../src/support/clock.js";
import { silentLogger } from "../src/support/logger.js";
import { testConfigDocument } from "./support/broker.js";

const DAY = 86_400_000;
let broker: Broker;
let dataDir: string;
let keys: Record<"ci" | "other" | "admin", string>;
const clock = new ManualClock(Date.UTC(2026, 5, 1));

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "ephemera-identities-"));
  const generated = { ci: generateApiKey(), other: generateApiKey(), admin: generateApiKey() };
  keys = { ci: generated.ci.key, other: generated.other.key, admin: generated.admin.key };
  const doc = testConfigDocument(dataDir, generated);
  const config = buildConfig(
    {
      ...doc,
      identities: {
        ...doc.identities,
        "nightly-report": { kind: "service_account", owner: "team-data", groups: ["ci"] },
      },
      identityLifecycle: { dormantAfter: "30d", checkInterval: "1h" },
    },
    "test",
  );
  broker = await startBroker(config, { logger: silentLogger(), clock, schedule: false });
});
afterAll(async () => {
  await broker?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const call = (method: "GET" | "POST", url: string, key: string, payload?: object) =>
  broker.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(payload === undefined ? {} : { payload }),
  });

describe("identity inventory", () => {
  it("lists identities with kind, owner, status, sightings and active grants; admins only", async () => {
    const issued = await call("POST", "/v1/requests", keys.ci, { entitlement: "demo-api/read", duration: "5m" });
    expect(issued.statusCode, issued.body).toBe(201);
    await broker.identities.flush();

    const list = await call("GET", "/v1/identities", keys.admin);
    expect(list.statusCode, list.body).toBe(200);
    const body = list.json();
    expect(body.identities.map((i: { id: string }) => i.id)).toEqual([
      "alice",
      "ci-deploy",
      "nightly-report",
      "other-job",
    ]);
    expect(body.next).toBeNull();

    const one = await call("GET", "/v1/identities/ci-deploy", keys.admin);
    expect(one.json()).toMatchObject({
      id: "ci-deploy",
      kind: "pipeline",
      owner: "team-payments",
      unowned: false,
      groups: ["ci"],
      status: "active",
      statusReason: null,
      source: "config",
      firstSeenAt: new Date(clock.now()).toISOString(),
      lastSeenAt: new Date(clock.now()).toISOString(),
      activeGrants: 1,
      activeGrantIds: [issued.json().grant.id],
    });

    const filtered = await call("GET", "/v1/identities?kind=service_account,workload&limit=1", keys.admin);
    expect(filtered.json().identities.map((i: { id: string }) => i.id)).toEqual(["nightly-report"]);
    expect(filtered.json().next).toBe("nightly-report");
    const page2 = await call(
      "GET",
      "/v1/identities?kind=service_account,workload&limit=1&after=nightly-report",
      keys.admin,
    );
    expect(page2.json().identities.map((i: { id: string }) => i.id)).toEqual(["other-job"]);
    expect((await call("GET", "/v1/identities?owner=team-data", keys.admin)).json().identities).toHaveLength(1);
    expect((await call("GET", "/v1/identities?unowned=true", keys.admin)).json().identities).toEqual([]);

    const forbidden = await call("GET", "/v1/identities", keys.ci);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().code).toBe("forbidden");
    const badStatus = await call("GET", "/v1/identities?status=asleep", keys.admin);
    expect(badStatus.statusCode).toBe(400);
    expect(badStatus.json().detail).toContain("unknown status 'asleep'");
    expect((await call("GET", "/v1/identities/nobody", keys.admin)).statusCode).toBe(404);
  });

  it("the CLI prints the inventory as a table and as JSON", async () => {
    // The broker listens on a free port (the test config says 127.0.0.1:0): the CLI talks HTTP to it.
    const env = { EPHEMERA_URL: broker.url, EPHEMERA_ADMIN_TOKEN: keys.admin };
    const table = await run(["identities", "--status", "active"], env);
    expect(table).toMatchObject({ code: EXIT.ok, stderr: "" });
    expect(table.stdout).toMatch(/^ID\s+KIND\s+OWNER\s+STATUS\s+LAST SEEN\s+GRANTS/);
    expect(table.stdout).toMatch(/ci-deploy\s+pipeline\s+team-payments\s+active/);
    const json = await run(["identities", "--kind", "human", "--json"], env);
    expect(JSON.parse(json.stdout).identities.map((i: { id: string }) => i.id)).toEqual(["alice"]);
    const one = await run(["identities", "ci-deploy"], env);
    expect(one.stdout).toMatch(/^owner:\s+team-payments$/m);
    const bad = await run(["identities", "--status", "asleep"], env);
    expect(bad.code).toBe(EXIT.usage);
    const noReason = await run(["offboard", "ci-deploy"], env);
    expect(noReason.code).toBe(EXIT.usage);
    expect(noReason.stderr).toContain("--reason");
  });
});

describe("dormancy", () => {
  it("an identity unseen for dormantAfter is refused with 403 naming its status until an admin reactivates it", async () => {
    clock.advance(20 * DAY);
    expect((await call("GET", "/v1/grants", keys.other)).statusCode).toBe(200); // other-job is seen now
    await broker.identities.flush();
    clock.advance(11 * DAY);
    expect((await call("GET", "/v1/grants", keys.admin)).statusCode).toBe(200); // alice, the admin, is seen now
    await broker.identities.flush();
    expect(broker.dormancy).not.toBeNull();
    const pass = await broker.dormancy!.runOnce();
    expect(pass.markedDormant).toBe(2); // ci-deploy (31 days unseen) and nightly-report (never seen)

    const refused = await call("POST", "/v1/requests", keys.ci, { entitlement: "demo-api/read", duration: "5m" });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({
      code: "identity_inactive",
      identityStatus: "dormant",
      identity: "ci-deploy",
    });
    expect(refused.json().detail).toBe("identity 'ci-deploy' is dormant; an admin may reactivate it");
    expect((await call("GET", "/v1/grants", keys.other)).statusCode).toBe(200);

    const listed = await call("GET", "/v1/identities?status=dormant", keys.admin);
    expect(listed.json().identities.map((i: { id: string }) => i.id)).toEqual(["ci-deploy", "nightly-report"]);
    expect(listed.json().identities[0].statusReason).toMatch(/^unseen since 2026-06-01T00:00:00.000Z/);

    const noReason = await call("POST", "/v1/identities/ci-deploy/reactivate", keys.admin, {});
    expect(noReason.statusCode).toBe(400);
    const back = await call("POST", "/v1/identities/ci-deploy/reactivate", keys.admin, { reason: "job resumes" });
    expect(back.statusCode, back.body).toBe(200);
    expect(back.json()).toMatchObject({ status: "active", statusReason: null });
    const again = await call("POST", "/v1/requests", keys.ci, { entitlement: "demo-api/read", duration: "5m" });
    expect(again.statusCode).toBe(201);

    const audit = (await broker.deps.store.listAudit(0, 10_000)).map((e) => e.code);
    expect(audit.filter((c) => c === "identity.dormant")).toHaveLength(2);
    expect(audit).toContain("identity.reactivated");
  });
});

describe("offboarding", () => {
  it("removes every grant, stops the keys, is idempotent, and the CLI reports it", async () => {
    const grants: string[] = [];
    const tokens: string[] = [];
    for (const entitlement of ["demo-api/read", "demo-api/write"]) {
      const r = await call("POST", "/v1/requests", keys.ci, { entitlement, duration: "5m" });
      expect(r.statusCode).toBe(201);
      grants.push(r.json().grant.id);
      tokens.push(r.json().credential.fields.token);
    }
    const before = (await call("GET", "/v1/identities/ci-deploy", keys.admin)).json();
    expect(before.activeGrants).toBeGreaterThanOrEqual(2);

    const env = { EPHEMERA_URL: broker.url, EPHEMERA_ADMIN_TOKEN: keys.admin };
    const out = await run(["offboard", "ci-deploy", "--reason", "team disbanded", "--json"], env);
    expect(out.code, out.stderr).toBe(EXIT.ok);
    const result = JSON.parse(out.stdout);
    expect(result).toMatchObject({ changed: true, removalsPending: 0, cancelledRequests: [] });
    expect(result.identity).toMatchObject({ status: "offboarded", activeGrants: 0 });
    expect(result.grants.map((g: { id: string }) => g.id)).toEqual(expect.arrayContaining(grants));
    expect(result.grants.every((g: { state: string }) => g.state === "verified")).toBe(true);

    for (const id of grants) {
      const grant = (await call("GET", `/v1/grants/${id}`, keys.admin)).json();
      expect(grant).toMatchObject({ state: "verified", endReason: "offboarded", endedBy: "alice" });
    }
    for (const token of tokens) {
      expect((await call("POST", "/v1/introspect", keys.other, { token })).json()).toEqual({ active: false });
    }
    const refused = await call("GET", "/v1/grants", keys.ci);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: "identity_inactive", identityStatus: "offboarded" });

    const repeat = await run(["offboard", "ci-deploy", "--reason", "team disbanded"], env);
    expect(repeat.code).toBe(EXIT.ok);
    expect(repeat.stdout).toContain("already offboarded");
    const never = await run(["reactivate", "ci-deploy", "--reason", "oops"], env);
    expect(never.code).toBe(EXIT.conflict);
    expect(never.stderr).toContain("offboarded, which is for good");

    const events = await broker.deps.store.listAudit(0, 10_000);
    const offboarded = events.filter((e) => e.code === "identity.offboarded");
    expect(offboarded).toHaveLength(1);
    const ends = events.filter((e) => e.code === "grant.revoking" && e.data.correlationId === result.correlationId);
    expect(ends.map((e) => e.grantId).sort()).toEqual([...(offboarded[0]!.data.grants as string[])].sort());
  });
});
