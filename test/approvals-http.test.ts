// The approval workflow through the real broker: HTTP (202 pending, approver queue, hash-bound approvals, collection
// once, break-glass review), the CLI against it (requests --pending, approve, collect, policy test), and policy reload.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EXIT } from "../src/cli/exit-codes.js";
import { run } from "../src/cli/testing/run-cli.js";
import { buildConfig } from "../src/config/load.js";
import { type Broker, startBroker } from "../src/main.js";
import { silentLogger } from "../src/support/logger.js";
import { namedApiKeys } from "./support/broker.js";

const POLICY = `
@id("read") @approval("auto") permit (principal in Group::"ci", action in [Action::"request", Action::"renew"], resource == Entitlement::"demo-api/read");
@id("write") @approval("2 from Group::\\"sre\\"") @max_duration("10m")
permit (principal in Group::"ci", action == Action::"request", resource == Entitlement::"demo-api/write") when { context.justification != "" };
@id("approve") permit (principal in Group::"sre", action == Action::"approve", resource in Target::"demo-api");
@id("flag") @flag("human_use_of_nhi")
permit (principal, action == Action::"request", resource in Target::"demo-api") when { context.client.interactive && principal.kind != "human" };
@id("glass") @max_duration("5m") permit (principal in Group::"ci", action == Action::"break_glass", resource == Entitlement::"demo-api/write");
`;

const NAMES = ["ci", "bob", "carol", "admin", "dave"] as const;
type Name = (typeof NAMES)[number];

describe("approvals over HTTP and the CLI", () => {
  let dir: string;
  let policyDir: string;
  let broker: Broker;
  let keys: Record<Name, string>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-approvals-"));
    policyDir = join(dir, "policies");
    mkdirSync(policyDir);
    writeFileSync(join(policyDir, "main.cedar"), POLICY);
    const named = namedApiKeys(NAMES);
    keys = named.keys;
    const apiKeys = named.configured;
    const config = buildConfig(
      {
        dataDir: join(dir, "data"),
        server: { listen: "127.0.0.1:0" },
        logging: { level: "silent" },
        identities: {
          ci: { kind: "pipeline", owner: "team", groups: ["ci"], apiKeys: apiKeys("ci") },
          bob: { kind: "human", groups: ["sre"], apiKeys: apiKeys("bob") },
          carol: { kind: "human", groups: ["sre"], apiKeys: apiKeys("carol") },
          admin: { kind: "human", admin: true, apiKeys: apiKeys("admin") },
          dave: { kind: "workload", owner: "team", groups: ["other"], apiKeys: apiKeys("dave") },
        },
        targets: {
          "demo-api": {
            type: "token",
            audience: "https://demo-api.test",
            entitlements: {
              read: { scopes: ["r"], defaultDuration: "5m", maxDuration: "1h" },
              write: { scopes: ["w"], defaultDuration: "5m", maxDuration: "15m" },
            },
          },
        },
        policies: { dir: policyDir, watch: false },
      },
      "test",
    );
    broker = await startBroker(config, { logger: silentLogger(), schedule: false });
  });
  afterEach(async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (who: Name, method: "GET" | "POST" | "PATCH", url: string, payload?: unknown) =>
    broker.app.inject({
      method,
      url,
      headers: {
        authorization: `Bearer ${keys[who]}`,
        ...(payload === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });

  it("202 pending, the approver's queue, two hash-bound approvals, the credential collected once", async () => {
    const created = await call("ci", "POST", "/v1/requests", {
      entitlement: "demo-api/write",
      duration: "5m",
      justification: "deploy",
    });
    expect(created.statusCode).toBe(202);
    const request = created.json().request;
    expect(request).toMatchObject({
      state: "pending",
      decision: { approval: "required", approvers: [{ group: "sre", count: 2 }] },
    });

    const queue = await call("bob", "GET", "/v1/requests?state=pending");
    expect(queue.json().requests.map((r: { id: string }) => r.id)).toEqual([request.id]);
    expect((await call("ci", "GET", "/v1/requests?state=pending")).json().requests).toHaveLength(1); // its own

    const self = await call("ci", "POST", `/v1/requests/${request.id}/approve`, { requestHash: request.requestHash });
    expect(self.statusCode).toBe(403);
    expect(self.json().code).toBe("approval_refused");

    expect(
      (await call("bob", "POST", `/v1/requests/${request.id}/approve`, { requestHash: request.requestHash }))
        .statusCode,
    ).toBe(200);
    const changed = await call("ci", "PATCH", `/v1/requests/${request.id}`, { duration: "6m" });
    expect(changed.json().request.approvals[0].current).toBe(false);
    const stale = await call("carol", "POST", `/v1/requests/${request.id}/approve`, {
      requestHash: request.requestHash,
    });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().code).toBe("request_changed");
    const fresh = changed.json().request.requestHash;
    await call("carol", "POST", `/v1/requests/${request.id}/approve`, { requestHash: fresh });
    const done = await call("bob", "POST", `/v1/requests/${request.id}/approve`, { requestHash: fresh });
    expect(done.json().request.state).toBe("approved");

    expect((await call("bob", "POST", `/v1/requests/${request.id}/credential`)).statusCode).toBe(403);
    const collected = await call("ci", "POST", `/v1/requests/${request.id}/credential`);
    expect(collected.statusCode).toBe(201);
    expect(collected.headers["cache-control"]).toBe("no-store");
    expect(collected.json().credential.fields.token.split(".")).toHaveLength(3);
    expect((await call("ci", "POST", `/v1/requests/${request.id}/credential`)).statusCode).toBe(409);
  });

  it("flags a person driving a non-human identity from a terminal or a browser, and not an API client", async () => {
    const ask = (headers: Record<string, string>) =>
      broker.app.inject({
        method: "POST",
        url: "/v1/requests",
        headers: { authorization: `Bearer ${keys.ci}`, "content-type": "application/json", ...headers },
        payload: JSON.stringify({ entitlement: "demo-api/read" }),
      });
    expect((await ask({ "x-ephemera-client": "cli; interactive" })).statusCode).toBe(201);
    expect((await ask({ "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0" })).statusCode).toBe(201);
    expect((await ask({ "x-ephemera-client": "cli" })).statusCode).toBe(201);
    const flagged = (await broker.deps.store.listAudit(0, 500)).filter((e) => e.code === "request.flagged");
    expect(flagged.map((e) => e.data.client)).toEqual([
      { kind: "cli", interactive: true },
      { kind: "browser", interactive: true },
    ]);
    expect(flagged[0]?.data.flags).toEqual(["human_use_of_nhi"]);
  });

  it("a caller with no rights on a request learns nothing of its state: 403 before 409, on every approver action", async () => {
    const issued = await call("ci", "POST", "/v1/requests", { entitlement: "demo-api/read", duration: "5m" });
    expect(issued.statusCode).toBe(201);
    const id = issued.json().request.id;
    for (const [action, body] of [
      ["review", { outcome: "justified" }],
      ["approve", { requestHash: `sha256:${"0".repeat(64)}` }],
      ["deny", {}],
      ["cancel", undefined],
      ["credential", undefined],
    ] as const) {
      const response = await call("dave", "POST", `/v1/requests/${id}/${action}`, body);
      expect(response.statusCode, `${action}: ${response.body}`).toBe(403);
      expect(response.body).not.toContain("issued");
    }
    expect((await call("dave", "GET", `/v1/requests/${id}`)).statusCode).toBe(403);
    // Someone who may approve it still learns why not: the request is no longer pending.
    const late = await call("bob", "POST", `/v1/requests/${id}/review`, { outcome: "justified" });
    expect(late.statusCode).toBe(409);
  });

  it("break-glass issues at once and an approver records the review", async () => {
    const glass = await call("ci", "POST", "/v1/requests", {
      entitlement: "demo-api/write",
      duration: "5m",
      justification: "outage",
      breakGlass: true,
    });
    expect(glass.statusCode).toBe(201);
    const id = glass.json().request.id;
    expect(glass.json().request.review).toMatchObject({ reviewedBy: null, overdue: false });
    const review = await call("bob", "POST", `/v1/requests/${id}/review`, { outcome: "justified", note: "INC-1" });
    expect(review.json().request.review).toMatchObject({ reviewedBy: "bob", outcome: "justified" });
  });

  it("reloads policies whole or not at all, and says so in the audit log and the metrics", async () => {
    const reloader = broker.policies!;
    const before = broker.deps.decider.version;
    writeFileSync(join(policyDir, "broken.cedar"), 'permit (principal, action == Action::"fly", resource);');
    expect(await reloader.reload("test")).toMatchObject({ outcome: "failed", kept: before });
    expect(broker.deps.decider.version).toBe(before);
    rmSync(join(policyDir, "broken.cedar"));
    writeFileSync(join(policyDir, "main.cedar"), POLICY.replace(/@id\("read"\)[^\n]*\n/, ""));
    const applied = await reloader.reload("test");
    expect(applied).toMatchObject({ outcome: "applied", previous: before });
    expect(broker.deps.decider.version).not.toBe(before);
    const codes = (await broker.deps.store.listAudit(0, 500)).map((e) => e.code);
    expect(codes).toContain("policy.reload_failed");
    expect(codes).toContain("policy.reloaded");
    const metrics = await (await call("admin", "GET", "/metrics")).body;
    expect(metrics).toMatch(/ephemera_policy_reloads_total\{outcome="failed"\} 1/);
    expect((await call("ci", "POST", "/v1/requests", { entitlement: "demo-api/read" })).statusCode).toBe(403);
  });

  it("reloads on SIGHUP", async () => {
    const before = broker.deps.decider.version;
    writeFileSync(
      join(policyDir, "extra.cedar"),
      '@id("extra") forbid (principal, action == Action::"admin", resource);',
    );
    process.emit("SIGHUP", "SIGHUP");
    const until = Date.now() + 10_000;
    while (broker.deps.decider.version === before && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(broker.deps.decider.version).not.toBe(before);
    const reloaded = (await broker.deps.store.listAudit(0, 500)).filter((e) => e.code === "policy.reloaded");
    expect(reloaded.at(-1)?.data).toMatchObject({ trigger: "sighup", previous: before, policies: 6 });
  });

  it("runs the approval flow from the command line", async () => {
    const url = broker.url;
    const as = (who: Name) => ({ EPHEMERA_URL: url, EPHEMERA_TOKEN: keys[who] });

    const asked = await run(["request", "demo-api/write", "--justification", "deploy", "--duration", "5m"], as("ci"));
    expect(asked.code).toBe(EXIT.ok);
    const id = /request (req_\w+) is pending/.exec(asked.stdout)?.[1];
    expect(id).toBeDefined();
    const queue = await run(["requests", "--pending"], as("bob"));
    expect(queue.stdout).toContain(id);
    expect(queue.stdout).toContain("0/2");
    expect((await run(["approve", id!], as("ci"))).code).toBe(EXIT.forbidden);
    expect((await run(["approve", id!, "--note", "ok"], as("bob"))).stdout).toContain("more approvals are needed");
    expect((await run(["approve", id!], as("carol"))).stdout).toContain(`ephemera collect ${id}`);
    const collected = await run(["collect", id!], as("ci"));
    expect(collected.code).toBe(EXIT.ok);
    expect(collected.stdout).toMatch(/^token=/m);
    expect((await run(["collect", id!], as("ci"))).code).toBe(EXIT.conflict);
  });
});

describe("ephemera policy test", () => {
  it("passes the demo's cases (examples/policies/tests.yaml)", async () => {
    const result = await run(["policy", "test", "examples/policies/tests.yaml"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toMatch(/^\d+ passed, 0 failed$/m);
  });

  it("exits 1 and names the case and the difference when a case does not hold", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ephemera-cases-"));
    try {
      const file = join(dir, "cases.yaml");
      writeFileSync(
        file,
        [
          `config: ${join(process.cwd(), "examples/demo.yaml")}`,
          `policies: ${join(process.cwd(), "examples/policies")}`,
          "cases:",
          "  - name: wrong on purpose",
          "    principal: demo-workload",
          "    entitlement: demo-api/read",
          "    expect: { decision: allow, approval: '1 from Group::\"approvers\"', maxDuration: 15m }",
        ].join("\n"),
      );
      const result = await run(["policy", "test", file]);
      expect(result.code).toBe(EXIT.error);
      expect(result.stdout).toContain("FAIL wrong on purpose");
      expect(result.stdout).toContain('approval: expected 1 from Group::"approvers", got auto');
      expect(result.stdout).toContain("maxDuration: expected 15m, got 1h");
      expect(result.stdout).toContain("0 passed, 1 failed");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("asks any action about the resource it needs, and names the field a case leaves out", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ephemera-cases-"));
    try {
      const policies = join(dir, "policies");
      mkdirSync(policies);
      writeFileSync(
        join(policies, "p.cedar"),
        [
          `@id("auditors") permit (principal in Group::"auditors", action == Action::"read_audit", resource);`,
          `@id("keep-ci") forbid (principal, action == Action::"offboard", resource in Group::"ci");`,
        ].join("\n"),
      );
      const cases = (body: string[]) => {
        const file = join(dir, "cases.yaml");
        writeFileSync(
          file,
          [
            `policies: ${policies}`,
            "identities:",
            "  old-admin: { kind: human, admin: true }",
            "  aud: { kind: human, groups: [auditors] }",
            "  job: { kind: pipeline, owner: t, groups: [ci] }",
            "targets: { db: { entitlements: { read: {} } } }",
            "cases:",
            ...body,
          ].join("\n"),
        );
        return run(["policy", "test", file]);
      };
      const passing = await cases([
        "  - { principal: aud, action: read_audit, expect: { decision: allow, policies: [auditors] } }",
        "  - { principal: old-admin, action: read_audit, expect: { decision: deny } }",
        "  - { principal: old-admin, action: admin, expect: { decision: allow, policies: ['builtin:admins-admin'] } }",
        "  - { principal: old-admin, action: rotate, target: db, expect: { decision: allow } }",
        "  - { principal: old-admin, action: offboard, identity: aud, expect: { decision: allow } }",
        "  - { principal: old-admin, action: offboard, identity: job, expect: { decision: deny, policies: [keep-ci] } }",
        "  - { principal: old-admin, action: revoke, entitlement: db/read, context: { requester: job }, expect: { decision: allow } }",
      ]);
      expect(passing.stdout).toContain("7 passed, 0 failed");
      expect(passing.code).toBe(EXIT.ok);
      const noTarget = await cases([
        "  - { principal: old-admin, action: rotate, target: nope, expect: { decision: allow } }",
      ]);
      expect(noTarget.code).toBe(EXIT.usage);
      expect(noTarget.stderr).toContain("cases.0.target: 'nope' is not a configured target");
      const noIdentity = await cases(["  - { principal: old-admin, action: offboard, expect: { decision: allow } }"]);
      expect(noIdentity.code).toBe(EXIT.usage);
      expect(noIdentity.stderr).toContain("cases.0.identity: required for offboard");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exits 2 naming the problem when the policies do not load", async () => {
    const result = await run(["policy", "test", "examples/policies/tests.yaml", "--policies", "/nonexistent"]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toMatch(/cannot read the folder/);
  });
});
