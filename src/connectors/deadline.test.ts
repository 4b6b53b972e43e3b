import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeConnector } from "../lifecycle/testing/fake-connector.js";
import { openSqliteStore, type SqliteStore } from "../storage/sqlite/index.js";
import { ManualClock } from "../support/clock.js";
import { DeadlineExceededError, withDeadline } from "./deadline.js";

describe("withDeadline", () => {
  let store: SqliteStore;
  beforeEach(async () => {
    store = await openSqliteStore(":memory:");
  });
  afterEach(() => store.close());

  it("turns a downstream call that never answers into an error naming the target and the call", async () => {
    class SilentTarget extends FakeConnector {
      override issue(): Promise<never> {
        return new Promise(() => {});
      }
    }
    const bounded = withDeadline(new SilentTarget("db", store, new ManualClock()), 50);
    const grant = { id: "grt_x", handle: "fake_x" } as never;
    const started = performance.now();
    await expect(
      bounded.issue({ grant, identity: {} as never, entitlement: {} as never, expiresAt: 0 }),
    ).rejects.toThrow(DeadlineExceededError);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("passes answers through and keeps the in-process flag", async () => {
    const fake = new FakeConnector("db", store, new ManualClock());
    fake.issuesInProcess = true;
    const bounded = withDeadline(fake, 1_000);
    expect(bounded.issuesInProcess).toBe(true);
    expect(await bounded.healthy()).toBe(true);
    expect(await bounded.removeAccount("fake_missing")).toBe(false);
  });
});
