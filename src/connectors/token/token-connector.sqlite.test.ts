// The token connector and its authority on the embedded SQLite store: the same contract, plus a restart on the same file.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openSqliteStore } from "../../storage/sqlite/index.js";
import type { Store } from "../../storage/store.js";
import { describeConnectorContract } from "../testing/contract.js";
import { contractSubject, tokenFixture } from "../testing/token-fixture.js";

const dir = mkdtempSync(join(tmpdir(), "ephemera-token-"));
const stores: Store[] = [];
async function sqlite(name: string): Promise<Store> {
  const store = await openSqliteStore(join(dir, `${name}.db`));
  stores.push(store);
  return store;
}
afterAll(async () => {
  for (const store of stores) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describeConnectorContract("token on sqlite", async () => {
  const f = await tokenFixture({ store: await sqlite("contract") });
  return contractSubject(f);
});

describe("token authority on sqlite", () => {
  it("reuses its keys and deny-list after the store is reopened", async () => {
    const first = await tokenFixture({ store: await sqlite("restart") });
    const grant = first.makeGrant();
    const issued = await first.connector.issue({
      grant,
      identity: first.identity,
      entitlement: first.entitlement,
      expiresAt: grant.expiresAt,
    });
    await first.connector.revoke({ grant });
    await first.store.close();
    const reopened = await openSqliteStore(join(dir, "restart.db"));
    stores.push(reopened);
    const second = await tokenFixture({ store: reopened, clock: first.clock, sealer: first.sealer });
    expect(second.authority.currentKid()).toBe(first.authority.currentKid());
    expect((await second.authority.verify(second.tokenOf(issued.credential))).jti).toBe(grant.id);
    expect(await second.authority.isRevoked(grant.id)).toBe(true);
    expect((await second.connector.verifyRemoved({ grant, probe: null })).removed).toBe(true);
    expect(JSON.stringify(await reopened.listState("token.keys"))).not.toMatch(/"d"\s*:/);
  });
});
