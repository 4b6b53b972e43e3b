// The broker used as a library: a grant issued by calling the lifecycle directly (not through HTTP) is removed at its
// expiry, because issuing itself tells the expiry scheduler when the grant is due.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildConfig } from "../src/config/load.js";
import { generateApiKey } from "../src/identity/api-keys.js";
import { requestAccess } from "../src/lifecycle/index.js";
import { type Broker, startBroker } from "../src/main.js";
import { silentLogger } from "../src/support/logger.js";
import { testConfigDocument } from "./support/broker.js";

let dataDir: string;
let broker: Broker;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "ephemera-library-"));
  const keys = { ci: generateApiKey(), other: generateApiKey(), admin: generateApiKey() };
  // The scheduler would not look again for an hour on its own: only the hint can wake it in time.
  const document = { ...testConfigDocument(dataDir, keys), lifecycle: { pollInterval: "1h" } };
  broker = await startBroker(buildConfig(document, "test"), { logger: silentLogger(), listen: false });
});
afterAll(async () => {
  await broker?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

it("a grant issued through requestAccess is removed at its expiry, not at the scheduler's next poll", async () => {
  const caller = await broker.deps.catalog.identity("ci-deploy");
  if (!caller) throw new Error("ci-deploy is configured");
  const result = await requestAccess(
    broker.deps,
    caller,
    { entitlement: "demo-api/read", duration: 1 },
    { sourceAddress: null },
  );
  if (result.outcome !== "issued") throw new Error(`expected an issued grant, got ${result.outcome}`);
  await expect
    .poll(async () => (await broker.deps.store.getGrant(result.grant.id))?.state, { timeout: 6000, interval: 100 })
    .toBe("verified");
});
