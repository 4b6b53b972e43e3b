// The probe secret: kept sealed from issue until removal is verified, handed to the connector's login probe, then destroyed.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { requestAccess } from "../request/request-access.js";
import { type Harness, makeHarness } from "../testing/harness.js";

const meta = { sourceAddress: "127.0.0.1" };

describe("probe secret", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function issued() {
    const result = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: 60 }, meta);
    if (result.outcome !== "issued") throw new Error("not issued");
    return result.grant;
  }

  it("is stored sealed with the activation, never in the clear, and never in the audit log", async () => {
    const grant = await issued();
    const row = await h.store.getState("probe-secret", grant.id);
    expect(typeof row?.value).toBe("string");
    expect(String(row?.value)).not.toContain("pw-not-a-real-secret");
    expect(String(row?.value)).toMatch(/^v1\./);
    const audit = JSON.stringify(await h.store.listAudit(0, 100));
    expect(audit).not.toContain("pw-not-a-real-secret");
    expect(audit).not.toContain(String(row?.value));
  });

  it("is handed to the verification probe and destroyed in the commit that records removal", async () => {
    const grant = await issued();
    h.clock.advance(60_000);
    await h.scheduler.runOnce();
    expect(h.target.probesSeen).toEqual(["pw-not-a-real-secret"]);
    expect(await h.store.getState("probe-secret", grant.id)).toBeNull();
    const verified = (await h.store.auditFor({ grantId: grant.id }, 100)).find((e) => e.code === "grant.verified");
    expect(verified?.data).toMatchObject({ probeSecret: "destroyed" });
    expect((await h.store.getGrant(grant.id))?.evidence?.checks.map((c) => c.check)).toContain("login.refused");
  });

  it("is kept while removal fails, so the retry can still prove the login is refused", async () => {
    const grant = await issued();
    h.target.failRevokes = 1;
    h.clock.advance(60_000);
    await h.scheduler.runOnce();
    expect((await h.store.getGrant(grant.id))?.state).toBe("revoke_failed");
    expect(await h.store.getState("probe-secret", grant.id)).not.toBeNull();
    h.clock.advance(120_000);
    await h.scheduler.runOnce();
    expect((await h.store.getGrant(grant.id))?.state).toBe("verified");
    expect(await h.store.getState("probe-secret", grant.id)).toBeNull();
  });

  it("a sealed secret moved to another grant's row does not open, so the login check fails closed", async () => {
    const first = await issued();
    const second = await issued();
    const sealed = (await h.store.getState("probe-secret", first.id))?.value;
    await h.store.apply({
      writes: [{ kind: "putState", namespace: "probe-secret", key: second.id, value: sealed, expiresAt: null }],
      audit: [
        {
          time: h.clock.now(),
          code: "broker.started",
          severity: "info",
          outcome: "success",
          actor: { type: "system", id: "test" },
          requestId: null,
          grantId: null,
          identityId: null,
          data: {},
        },
      ],
    });
    h.clock.advance(60_000);
    await h.scheduler.runOnce();
    // The swapped row opened as nothing: the fake saw no probe for the second grant.
    expect(h.target.probesSeen).toContain(null);
  });
});
