// Crash-safe admin rotation against an in-memory target that accepts a set of passwords: every interruption point
// leaves the broker a secret the target takes.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { memoryStore } from "../../storage/testing/memory.js";
import { ManualClock } from "../../support/clock.js";
import { Sealer } from "../../support/sealer.js";
import { AdminSecret, type RotationSteps } from "./admin-secret.js";

/** A target with one admin whose valid passwords are a set (one for most targets, several for Redis ACL). */
class Target {
  readonly valid = new Set<string>(["configured-pw"]);
  constructor(readonly multiple: boolean) {}
  steps(crashAt?: "after-apply" | "before-retire"): RotationSteps {
    const steps: RotationSteps = {
      works: async (secret) => this.valid.has(secret),
      apply: async (next) => {
        if (!this.multiple) this.valid.clear();
        this.valid.add(next);
        if (crashAt === "after-apply") throw new Error("broker died after the target changed");
      },
    };
    if (!this.multiple) return steps;
    return {
      ...steps,
      retire: async (old) => {
        if (crashAt === "before-retire") throw new Error("broker died before retiring the old secret");
        this.valid.delete(old);
      },
    };
  }
}

function keeper(store = memoryStore(), sealer = new Sealer(randomBytes(32))) {
  return new AdminSecret({ targetId: "db", store, sealer, clock: new ManualClock(), configured: "configured-pw" });
}

describe("AdminSecret", () => {
  it.each([false, true])(
    "rotates to a new secret that works and retires the old (several at once: %s)",
    async (multiple) => {
      const target = new Target(multiple);
      const store = memoryStore();
      const admin = keeper(store);
      expect((await admin.current()).reveal()).toBe("configured-pw");
      await admin.rotate(target.steps());
      const now = (await admin.current()).reveal();
      expect(now).not.toBe("configured-pw");
      expect(now).toMatch(/^[0-9a-z]{32}$/);
      expect([...target.valid]).toEqual([now]);
      expect(await admin.rotatedAt()).not.toBeNull();
      // Sealed at rest; the audit trail names the target, never the secret.
      const stored = JSON.stringify(await store.listState("admin-secret"));
      expect(stored).not.toContain(now);
      const audit = JSON.stringify(await store.listAudit(0, 100));
      expect(audit).not.toContain(now);
      expect((await store.listAudit(0, 100)).map((e) => e.code)).toEqual([
        "target.admin_rotation_started",
        "target.admin_rotated",
      ]);
    },
  );

  it("a crash after the target changed is settled to the new secret", async () => {
    const target = new Target(false);
    const store = memoryStore();
    const sealer = new Sealer(randomBytes(32));
    await expect(keeper(store, sealer).rotate(target.steps("after-apply"))).rejects.toThrow(/died/);
    const restarted = keeper(store, sealer);
    const settled = (await restarted.settle(target.steps())).reveal();
    expect(target.valid.has(settled)).toBe(true);
    expect((await restarted.current()).reveal()).toBe(settled);
    expect((await store.listAudit(0, 100)).at(-1)?.code).toBe("target.admin_rotation_recovered");
  });

  it("a crash before the target changed is settled to the old secret", async () => {
    const target = new Target(false);
    const store = memoryStore();
    const sealer = new Sealer(randomBytes(32));
    const steps = target.steps();
    await expect(
      keeper(store, sealer).rotate({
        ...steps,
        apply: async () => {
          throw new Error("connection lost before the ALTER reached the target");
        },
      }),
    ).rejects.toThrow(/connection lost/);
    const restarted = keeper(store, sealer);
    expect((await restarted.settle(steps)).reveal()).toBe("configured-pw");
    expect((await restarted.current()).reveal()).toBe("configured-pw");
  });

  it("a crash between adding the new secret and retiring the old finishes the retirement", async () => {
    const target = new Target(true);
    const store = memoryStore();
    const sealer = new Sealer(randomBytes(32));
    await expect(keeper(store, sealer).rotate(target.steps("before-retire"))).rejects.toThrow(/died/);
    expect(target.valid.size).toBe(2);
    const settled = (await keeper(store, sealer).settle(target.steps())).reveal();
    expect([...target.valid]).toEqual([settled]);
  });

  it("refuses to rotate when the current secret does not work, and says an operator must act when none does", async () => {
    const target = new Target(false);
    target.valid.clear();
    const admin = keeper();
    await expect(admin.rotate(target.steps())).rejects.toThrow(/current admin secret does not work/);
    expect(target.valid.size).toBe(0);

    const other = new Target(false);
    const store = memoryStore();
    const sealer = new Sealer(randomBytes(32));
    await expect(keeper(store, sealer).rotate(other.steps("after-apply"))).rejects.toThrow(/died/);
    other.valid.clear(); // someone reset the password behind the broker's back
    await expect(keeper(store, sealer).settle(other.steps())).rejects.toThrow(/neither the current nor the pending/);
  });

  it("two replicas rotating the same target: one rotates, the other is refused, both then log in", async () => {
    const target = new Target(false);
    const store = memoryStore();
    const sealer = new Sealer(randomBytes(32));
    const [a, b] = [keeper(store, sealer), keeper(store, sealer)];
    const results = await Promise.allSettled([a.rotate(target.steps()), b.rotate(target.steps())]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect(String((results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason)).toMatch(
      /another broker replica/,
    );
    const [sa, sb] = [(await a.current()).reveal(), (await b.current()).reveal()];
    expect(sa).toBe(sb);
    expect([...target.valid]).toEqual([sa]);
  });

  it("a replica settling while another rotates never writes back a secret the target no longer takes", async () => {
    const target = new Target(false);
    const store = memoryStore();
    const sealer = new Sealer(randomBytes(32));
    const [a, b] = [keeper(store, sealer), keeper(store, sealer)];
    // b settles at the worst moment: a has recorded its pending secret, the target has not changed yet, and a then
    // finishes while b is still deciding. Without compare-and-set b's "old secret stays" would undo a's rotation.
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let applying: () => void = () => {};
    const aApplies = new Promise<void>((r) => {
      applying = r;
    });
    const steps = target.steps();
    const slow: RotationSteps = {
      ...steps,
      apply: async (next, current) => {
        applying();
        await gate;
        await steps.apply(next, current);
      },
    };
    const rotating = a.rotate(slow);
    await aApplies;
    const bSteps: RotationSteps = {
      works: async (secret) => {
        const ok = await steps.works(secret);
        release();
        await rotating.catch(() => undefined);
        return ok;
      },
      apply: steps.apply,
    };
    const settled = await b.settle(bSteps);
    await rotating;
    const current = (await a.current()).reveal();
    expect(target.valid.has(current)).toBe(true);
    expect(target.valid.has(settled.reveal())).toBe(true);
  });
});
