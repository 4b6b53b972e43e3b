// The demo's first-start keys: stored once, and accepted from the store by every replica sharing it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { buildConfig } from "../config/index.js";
import { parseApiKey } from "../identity/index.js";
import { memoryStore } from "../storage/testing/memory.js";
import { ManualClock } from "../support/clock.js";
import { bootstrapKeyLookup, ensureBootstrapKeys } from "./bootstrap.js";

let dir = "";
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

it("lets a replica find every bootstrap identity's key in the shared store, the approver's included", async () => {
  dir = mkdtempSync(join(tmpdir(), "ephemera-bootstrap-"));
  const config = buildConfig(
    {
      dataDir: dir,
      logging: { level: "silent" },
      identities: {
        "demo-workload": { kind: "workload", owner: "team" },
        admin: { kind: "human", owner: "security", admin: true },
        "demo-approver": { kind: "human", owner: "security" },
      },
      targets: {
        "demo-api": {
          type: "token",
          audience: "https://demo-api.test",
          entitlements: { read: { scopes: ["demo.read"], defaultDuration: "5m", maxDuration: "1h" } },
        },
      },
      bootstrap: {
        envFile: join(dir, "demo.env"),
        identity: "demo-workload",
        admin: "admin",
        approver: "demo-approver",
      },
    },
    "bootstrap.test",
  );
  const store = memoryStore();
  const made = await ensureBootstrapKeys(config, store, new ManualClock(Date.parse("2026-12-07T00:00:00Z")));
  const lookup = bootstrapKeyLookup(config, store);
  for (const variable of ["EPHEMERA_TOKEN", "EPHEMERA_ADMIN_TOKEN", "EPHEMERA_APPROVER_TOKEN"]) {
    const key = parseApiKey(made!.env.get(variable)!);
    expect((await lookup(key!.keyId))?.keyId, variable).toBe(key!.keyId);
  }
  await store.close();
});
