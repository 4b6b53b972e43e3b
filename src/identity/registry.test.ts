// The identity registry: config sync that keeps status, rule registration that never rewrites, throttled sightings.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { verifyStoreChain } from "../audit/verify.js";
import type { IdentityRecord } from "../domain/types.js";
import { openSqliteStore, type SqliteStore } from "../storage/sqlite/index.js";
import { ManualClock } from "../support/clock.js";
import { silentLogger } from "../support/logger.js";
import { type IdentityDefinition, IdentityRegistry } from "./registry.js";

const deploy: IdentityDefinition = {
  id: "ci-deploy",
  kind: "pipeline",
  owner: "team-payments",
  groups: ["ci"],
  attributes: { env: "prod" },
  admin: false,
};

describe("identity registry", () => {
  let dir: string;
  let store: SqliteStore;
  let clock: ManualClock;
  let registry: IdentityRegistry;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-registry-"));
    store = await openSqliteStore(join(dir, "t.db"));
    clock = new ManualClock();
    registry = new IdentityRegistry(store, clock, silentLogger(), { sightingIntervalMs: 60_000 });
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const codes = async () => (await store.listAudit(0, 100)).map((e) => e.code);

  it("registers configured identities once, audited, and does nothing on an unchanged second start", async () => {
    const human: IdentityDefinition = {
      id: "alice",
      kind: "human",
      owner: null,
      groups: [],
      attributes: {},
      admin: true,
    };
    expect(await registry.syncConfigured([deploy, human])).toStrictEqual({ registered: 2, updated: 0 });
    expect(await registry.get("ci-deploy")).toMatchObject({
      ...deploy,
      status: "active",
      source: "config",
      firstSeenAt: null,
      version: 1,
    });
    expect(await registry.syncConfigured([deploy, human])).toStrictEqual({ registered: 0, updated: 0 });
    expect(await codes()).toStrictEqual(["identity.registered", "identity.registered"]);
    expect((await store.listAudit(0, 1))[0]?.data).toMatchObject({ owner: "team-payments", source: "config" });
  });

  it("updates a changed definition with the change in the audit event, and keeps the stored status", async () => {
    await registry.syncConfigured([deploy]);
    const stored = (await store.getIdentity("ci-deploy")) as IdentityRecord;
    await store.apply({
      writes: [
        {
          kind: "updateIdentity",
          identity: { ...stored, status: "offboarded", statusReason: "test", version: 2 },
          expectedVersion: 1,
        },
      ],
      audit: [
        {
          time: clock.now(),
          code: "test.offboard",
          severity: "notice",
          outcome: "success",
          actor: { type: "system", id: "test" },
          requestId: null,
          grantId: null,
          identityId: "ci-deploy",
          data: {},
        },
      ],
    });
    const changed = { ...deploy, owner: "team-platform", attributes: { env: "staging" } };
    expect(await registry.syncConfigured([changed])).toStrictEqual({ registered: 0, updated: 1 });
    expect(await registry.get("ci-deploy")).toMatchObject({
      owner: "team-platform",
      attributes: { env: "staging" },
      status: "offboarded",
      version: 3,
    });
    const last = (await store.listAudit(0, 10)).at(-1);
    expect(last).toMatchObject({
      code: "identity.updated",
      identityId: "ci-deploy",
      data: {
        changed: {
          owner: { from: "team-payments", to: "team-platform" },
          attributes: { from: { env: "prod" }, to: { env: "staging" } },
        },
      },
    });
    expect((await verifyStoreChain(store)).ok).toBe(true);
  });

  it("registers an identity first admitted by a trust rule, and never lets a rule rewrite an existing one", async () => {
    const rule = { type: "system", id: "oidc" } as const;
    const first = await registry.register(
      {
        id: "gh-deploy",
        kind: "pipeline",
        owner: "team-web",
        groups: [],
        attributes: { repo: "acme/web" },
        admin: false,
      },
      "oidc:github-main",
      rule,
    );
    expect(first).toMatchObject({ source: "oidc:github-main", owner: "team-web", status: "active" });
    const again = await registry.register({ ...deploy, id: "gh-deploy", owner: "someone-else" }, "oidc:other", rule);
    expect(again).toStrictEqual(first);
    await registry.syncConfigured([deploy]);
    const fromRule = await registry.register({ ...deploy, owner: "rule-owner" }, "oidc:x", rule);
    expect(fromRule.owner).toBe("team-payments");
  });

  it("records sightings at most once per interval per identity, first seen once and last seen moving forward", async () => {
    await registry.syncConfigured([deploy]);
    registry.seen("ci-deploy");
    await registry.flush();
    const t0 = clock.now();
    expect(await registry.get("ci-deploy")).toMatchObject({ firstSeenAt: t0, lastSeenAt: t0 });
    clock.advance(30_000);
    registry.seen("ci-deploy");
    await registry.flush();
    expect((await registry.get("ci-deploy"))?.lastSeenAt).toBe(t0);
    clock.advance(31_000);
    registry.seen("ci-deploy");
    await registry.flush();
    expect(await registry.get("ci-deploy")).toMatchObject({ firstSeenAt: t0, lastSeenAt: t0 + 61_000, version: 1 });
  });

  it("a flush waits for the sightings an automatic flush is still writing", async () => {
    await registry.syncConfigured([deploy]);
    // A store whose sighting write is still on its way (a network round trip, say) when flush() is called.
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = new Proxy(store, {
      get(target, prop) {
        if (prop === "markIdentitiesSeen") {
          return async (sightings: Parameters<typeof target.markIdentitiesSeen>[0]) => {
            await gate;
            return target.markIdentitiesSeen(sightings);
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const delayed = new IdentityRegistry(slow, clock, silentLogger());
    delayed.seen("ci-deploy"); // starts the automatic flush, which takes the pending sighting
    await Promise.resolve();
    await Promise.resolve();
    let flushed = false;
    const flushing = delayed.flush().then(() => {
      flushed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toBe(false);
    release();
    await flushing;
    expect((await registry.get("ci-deploy"))?.lastSeenAt).toBe(clock.now());
  });

  it("drops sightings the store cannot take, without throwing, and tries again at the next sighting", async () => {
    await registry.syncConfigured([deploy]);
    await store.close();
    registry.seen("ci-deploy");
    await expect(registry.flush()).resolves.toBeUndefined();
    store = await openSqliteStore(join(dir, "t.db"));
    registry = new IdentityRegistry(store, clock, silentLogger());
    registry.seen("ci-deploy");
    await registry.flush();
    expect((await registry.get("ci-deploy"))?.lastSeenAt).toBe(clock.now());
  });
});
