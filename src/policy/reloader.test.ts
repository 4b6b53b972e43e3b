// Reload on a file change: a valid edit is applied, a broken one is refused whole and the old set kept, each audited.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteStore, type SqliteStore } from "../storage/sqlite/index.js";
import { ManualClock } from "../support/clock.js";
import { silentLogger } from "../support/logger.js";
import { CedarDecider } from "./cedar/cedar-decider.js";
import { loadPolicyFolder } from "./cedar/policy-set.js";
import { SwappableDecider } from "./decider.js";
import { PolicyReloader } from "./reloader.js";

async function eventually(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("PolicyReloader", () => {
  let dir: string;
  let store: SqliteStore;
  let reloader: PolicyReloader;
  let decider: SwappableDecider;
  const outcomes: string[] = [];
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-reload-"));
    writeFileSync(join(dir, "a.cedar"), '@id("a") permit (principal, action == Action::"request", resource);');
    store = await openSqliteStore(join(dir, "db.sqlite"));
    decider = new SwappableDecider(new CedarDecider(loadPolicyFolder(dir)));
    const applied: string[] = [];
    reloader = new PolicyReloader({
      dir,
      decider,
      store,
      clock: new ManualClock(),
      logger: silentLogger(),
      observe: (o) => outcomes.push(o),
      onApplied: async (v) => {
        applied.push(v);
      },
    });
    reloader.start(true);
  });
  afterEach(async () => {
    await reloader.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const codes = async () => (await store.listAudit(0, 100)).map((e) => e.code);

  it("applies a valid edit on its own, and refuses a broken one whole, keeping the set in force", async () => {
    const first = decider.version;
    writeFileSync(join(dir, "b.cedar"), '@id("b") forbid (principal, action == Action::"admin", resource);');
    await eventually(() => decider.version !== first);
    const second = decider.version;
    expect((await codes()).filter((c) => c === "policy.reloaded")).toHaveLength(1);

    writeFileSync(join(dir, "c.cedar"), "permit (principal, action, resource) when { context.nope };");
    await eventually(async () => (await codes()).includes("policy.reload_failed"));
    expect(decider.version).toBe(second);
    const failed = (await store.listAudit(0, 100)).find((e) => e.code === "policy.reload_failed");
    expect(failed).toMatchObject({ severity: "alert", outcome: "failure" });
    expect(JSON.stringify(failed?.data.problems)).toMatch(/c\.cedar#0/);
    expect(outcomes).toContain("failed");
  });
});
