// Reconciliation: survivors are removed and audited, held accounts are left alone, standing privilege is reported.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Connector } from "../../connectors/connector.js";
import { requestAccess } from "../request/request-access.js";
import { type Harness, makeHarness } from "../testing/harness.js";
import { Maintenance } from "./maintenance.js";
import { latestDiscovery, reconcileTargets } from "./reconcile.js";
import { rotateTargetSecret, rotateTargetSecretAsSystem } from "./rotate-target-secret.js";

const meta = { sourceAddress: "127.0.0.1" };

describe("reconciliation and discovery", () => {
  let h: Harness;
  let connectors: Map<string, Connector>;
  beforeEach(async () => {
    h = await makeHarness();
    connectors = new Map([["db", h.target]]);
  });
  afterEach(async () => {
    await h.close();
  });

  it("removes a broker-made account no live grant holds, leaves held ones, and reports standing accounts", async () => {
    const live = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: 600 }, meta);
    if (live.outcome !== "issued") throw new Error("not issued");
    h.target.accounts.set("fake_survivor01", "x"); // made by the broker, its grant long gone
    h.target.accounts.set("root", "x"); // not the broker's: standing privilege

    const report = await reconcileTargets(h.deps, connectors, h.metrics);
    const db = report.targets[0];
    expect(db).toMatchObject({ target: "db", ok: true, accounts: 3, held: 1, removed: ["fake_survivor01"] });
    expect(db?.standing).toEqual([{ handle: "root", privileges: ["superuser"], admin: true, broker: false }]);
    expect(h.target.accounts.has("fake_survivor01")).toBe(false);
    expect(h.target.accounts.has(live.grant.handle)).toBe(true);
    expect(h.target.accounts.has("root")).toBe(true);

    const removed = (await h.store.listAudit(0, 100)).filter((e) => e.code === "reconcile.account_removed");
    expect(removed.map((e) => e.data.handle)).toEqual(["fake_survivor01"]);
    expect(removed[0]?.severity).toBe("alert");
    expect(await latestDiscovery(h.deps)).toEqual(report);
    const metrics = await h.metrics.registry.metrics();
    expect(metrics).toMatch(/ephemera_accounts_survived_total\{target="db"\} 1/);
    expect(metrics).toMatch(/ephemera_standing_accounts\{target="db",admin="true"\} 1/);
  });

  it("an account a grant of another target holds is held: two targets may see the same accounts", async () => {
    const live = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: 600 }, meta);
    if (live.outcome !== "issued") throw new Error("not issued");
    const FakeConnector = h.target.constructor as typeof import("../testing/fake-connector.js").FakeConnector;
    const sameCluster = new FakeConnector("db-other", h.store, h.clock);
    sameCluster.accounts.set(live.grant.handle, "x");
    const report = await reconcileTargets(h.deps, new Map<string, Connector>([["db-other", sameCluster]]));
    expect(report.targets[0]).toMatchObject({ removed: [], held: 1 });
    expect(sameCluster.accounts.has(live.grant.handle)).toBe(true);
  });

  it("never removes the account of a grant whose removal is still in progress", async () => {
    const result = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: 60 }, meta);
    if (result.outcome !== "issued") throw new Error("not issued");
    h.target.failRevokes = 100;
    h.clock.advance(60_000);
    await h.scheduler.runOnce();
    expect((await h.store.getGrant(result.grant.id))?.state).toBe("revoke_failed");
    const report = await reconcileTargets(h.deps, connectors);
    expect(report.targets[0]?.removed).toEqual([]);
    expect(report.targets[0]?.held).toBe(1);
  });

  it("reports a target it cannot list instead of failing the whole run", async () => {
    class Down extends (h.target.constructor as typeof import("../testing/fake-connector.js").FakeConnector) {
      override async listAccounts(): Promise<never> {
        throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
      }
    }
    const down = new Down("down", h.store, h.clock);
    const report = await reconcileTargets(
      h.deps,
      new Map<string, Connector>([
        ["down", down],
        ["db", h.target],
      ]),
    );
    expect(report.targets.map((t) => [t.target, t.ok])).toEqual([
      ["down", false],
      ["db", true],
    ]);
    expect(report.targets[0]?.error).toMatch(/ECONNREFUSED/);
    expect(report.totals.unreachableTargets).toBe(1);
    const completed = (await h.store.listAudit(0, 100)).find((e) => e.code === "reconcile.completed");
    expect(completed?.outcome).toBe("failure");
  });

  it("rotates admin secrets on schedule: at once when never rotated, then only when the interval has passed", async () => {
    let rotations = 0;
    h.target.rotateAdminSecret = async () => {
      rotations++;
      return { rotated: true, detail: "rotated in the fake" };
    };
    const maintenance = new Maintenance(h.deps, connectors, {
      reconcileIntervalMs: 0,
      rotations: new Map([["db", 3600]]),
    });
    expect(await maintenance.rotateDue()).toEqual(["db"]);
    expect(await maintenance.rotateDue()).toEqual([]);
    h.clock.advance(3_600_000);
    expect(await maintenance.rotateDue()).toEqual(["db"]);
    expect(rotations).toBe(2);
    const runs = (await h.store.listAudit(0, 100)).filter((e) => e.code === "target.rotation_run");
    expect(runs.map((e) => e.actor)).toEqual([
      { type: "system", id: "schedule" },
      { type: "system", id: "schedule" },
    ]);
  });

  it("the maintenance timer reconciles on its interval and stops when asked", async () => {
    h.target.accounts.set("fake_survivor02", "x");
    let passes = 0;
    let reconciled: () => void = () => {};
    const firstPass = new Promise<void>((resolve) => {
      reconciled = resolve;
    });
    const maintenance = new Maintenance(
      h.deps,
      connectors,
      { reconcileIntervalMs: 20, rotations: new Map() },
      {
        reconciled: () => {
          passes++;
          reconciled();
        },
      },
    );
    maintenance.start();
    await firstPass;
    await maintenance.stop();
    expect(h.target.accounts.has("fake_survivor02")).toBe(false);
    const runs = passes;
    // The scenario is time going by: four intervals pass after stop, and no pass with them.
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(passes).toBe(runs);
  });

  it("with replicas on one store, one maintenance timer at a time holds the lease and runs; the other stays idle", async () => {
    const passes = { a: 0, b: 0 };
    let fourPassed: () => void = () => {};
    const fourPasses = new Promise<void>((resolve) => {
      fourPassed = resolve;
    });
    const replicas = (["a", "b"] as const).map(
      (id) =>
        new Maintenance(
          h.deps,
          connectors,
          { reconcileIntervalMs: 20, rotations: new Map(), replicaId: id },
          {
            reconciled: () => {
              passes[id]++;
              if (passes.a + passes.b >= 4) fourPassed();
            },
          },
        ),
    );
    for (const m of replicas) m.start();
    await fourPasses;
    for (const m of replicas) await m.stop();
    expect(passes.a + passes.b).toBeGreaterThanOrEqual(4);
    expect(Math.min(passes.a, passes.b)).toBe(0);
  });

  it("a failed rotation is audited as a failure and reported as a downstream error", async () => {
    h.target.rotateAdminSecret = async () => {
      throw new Error("connect ECONNREFUSED");
    };
    await expect(rotateTargetSecret(h.deps, h.admin, "db")).rejects.toMatchObject({
      code: "downstream_unavailable",
    });
    const run = (await h.store.listAudit(0, 100)).find((e) => e.code === "target.rotation_run");
    expect(run).toMatchObject({ outcome: "failure", actor: { type: "identity", id: "alice" } });
    await expect(rotateTargetSecret(h.deps, h.admin, "nope")).rejects.toMatchObject({
      code: "not_found",
    });
  });

  it("only an admin asks for a rotation; the refusal is audited and the target untouched, the schedule needs no caller", async () => {
    let rotations = 0;
    h.target.rotateAdminSecret = async () => {
      rotations++;
      return { rotated: true, detail: "rotated" };
    };
    await expect(rotateTargetSecret(h.deps, h.ci, "db")).rejects.toMatchObject({ code: "forbidden" });
    const audit = await h.store.listAudit(0, 100);
    expect(audit.find((e) => e.code === "auth.forbidden")?.actor).toEqual({ type: "identity", id: h.ci.id });
    expect(rotations).toBe(0);
    await rotateTargetSecretAsSystem(h.deps, "schedule", "db");
    const run = (await h.store.listAudit(0, 100)).find((e) => e.code === "target.rotation_run");
    expect(run?.actor).toEqual({ type: "system", id: "schedule" });
    expect(rotations).toBe(1);
  });
});
