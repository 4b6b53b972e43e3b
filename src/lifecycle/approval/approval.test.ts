// The approval stage end to end on a real store, a fake target and Cedar policies: quorum, separation of duties,
// approvals bound to the request they saw, rights re-checked at issue, timeouts, break-glass, policy changes, intent.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { requestHash } from "../../domain/approval.js";
import type { AccessRequest, Identity } from "../../domain/types.js";
import { OutboxNotifier } from "../../notifications/notifier.js";
import { CedarDecider } from "../../policy/cedar/cedar-decider.js";
import { compilePolicies } from "../../policy/cedar/policy-set.js";
import { SwappableDecider } from "../../policy/decider.js";
import { recheckActiveGrants } from "../policy/recheck-grants.js";
import { renewGrant } from "../renew/renew-grant.js";
import { requestAccess } from "../request/request-access.js";
import { endGrantByCaller } from "../revoke/end-grant.js";
import { APPROVERS, POLICIES, WRITE } from "../testing/approval-fixtures.js";
import { type Harness, makeHarness, refusal } from "../testing/harness.js";
import { ApprovalSweeper } from "./approval-sweeper.js";
import { approveRequest } from "./approve-request.js";
import { cancelRequest } from "./cancel-request.js";
import { collectCredential } from "./collect-credential.js";
import { denyRequest } from "./deny-request.js";
import { modifyRequest } from "./modify-request.js";
import { reviewBreakGlass } from "./review-break-glass.js";
import { sweepRequests } from "./sweep-requests.js";

const meta = { sourceAddress: "127.0.0.1" };
const hook = {
  name: "ops",
  url: "http://127.0.0.1:9/unused",
  format: "json" as const,
  secret: null,
  events: ["approval_pending", "break_glass", "review_overdue", "removal_failed", "request_flagged"] as const,
  maxAttempts: 3,
  timeoutMs: 1000,
};

describe("approvals", () => {
  let h: Harness;
  let decider: SwappableDecider;
  beforeEach(async () => {
    decider = new SwappableDecider(new CedarDecider(compilePolicies("test", [["p.cedar", POLICIES]])));
    h = await makeHarness({
      decider,
      identities: Object.values(APPROVERS),
      entitlements: [WRITE],
      notifier: new OutboxNotifier([{ ...hook, events: [...hook.events] }]),
    });
  });
  afterEach(async () => {
    await h.close();
  });

  const ask = async (identity: Identity = h.ci, extra: Record<string, unknown> = {}): Promise<AccessRequest> => {
    const result = await requestAccess(
      h.deps,
      identity,
      { entitlement: "db/write", duration: "10m", justification: "fix", ...extra },
      meta,
    );
    if (result.outcome !== "pending") throw new Error(`expected pending, got ${result.outcome}`);
    return result.request;
  };
  const approve = (who: Identity, request: AccessRequest) =>
    approveRequest(h.deps, who, request.id, { requestHash: requestHash(request) });
  const codes = async () => (await h.store.listAudit(0, 1000)).map((e) => e.code);

  it("measures approval latency from the request to the quorum met, and to a denial", async () => {
    const first = await ask();
    h.clock.advance(90_000);
    await approve(APPROVERS.bob, first); // quorum not met yet: nothing measured
    h.clock.advance(30_000);
    await approve(APPROVERS.carol, (await h.store.getRequest(first.id)) ?? first);
    const second = await ask();
    h.clock.advance(4_000);
    await denyRequest(h.deps, APPROVERS.bob, second.id, {});
    const text = await h.metrics.registry.getSingleMetricAsString("ephemera_approval_latency_seconds");
    expect(text).toMatch(/ephemera_approval_latency_seconds_sum\{outcome="approved"\} 120$/m);
    expect(text).toMatch(/ephemera_approval_latency_seconds_count\{outcome="approved"\} 1$/m);
    expect(text).toMatch(/ephemera_approval_latency_seconds_sum\{outcome="denied"\} 4$/m);
  });

  it("waits for the quorum, then issues on collection with the clock starting at issue, once", async () => {
    const pending = await ask();
    expect(pending).toMatchObject({
      state: "pending",
      decision: { approval: "required", approvers: [{ group: "sre", count: 2 }] },
    });
    expect(h.target.accounts.size).toBe(0);
    const afterOne = await approve(APPROVERS.bob, pending);
    expect(afterOne.state).toBe("pending");
    const approved = await approve(APPROVERS.carol, afterOne);
    expect(approved.state).toBe("approved");

    h.clock.advance(5 * 60_000); // the requester collects five minutes later
    const collected = await collectCredential(h.deps, h.ci, pending.id);
    expect(h.target.stateAtIssue).toEqual(["issuing"]); // the grant row was committed before the downstream call
    expect(collected.grant.expiresAt).toBe(h.clock.now() + 600_000);
    expect(collected.grant.maxExpiresAt).toBe(h.clock.now() + 20 * 60_000);
    expect(collected.credential.fields.reveal().username).toBe(collected.grant.handle);
    expect((await h.store.getRequest(pending.id))?.state).toBe("issued");
    expect(await codes()).toEqual([
      "request.pending",
      "request.approval_recorded",
      "request.approval_recorded",
      "request.approved",
      "request.collected",
      "grant.issuing",
      "grant.issued",
    ]);
    expect((await refusal(collectCredential(h.deps, h.ci, pending.id))).code).toBe("invalid_state");
    const events = await h.store.listAudit(0, 1000);
    expect(events[0]?.data).toMatchObject({
      policies: ["write-2-sre"],
      policyVersion: decider.version,
      approval: "required",
    });
  });

  it("collecting with a workload token uses it up, and refuses a key proof the target cannot bind", async () => {
    const pending = await ask();
    await approve(APPROVERS.bob, pending);
    await approve(APPROVERS.carol, (await h.store.getRequest(pending.id))!);
    const token = {
      sourceAddress: "127.0.0.1",
      authentication: {
        method: "oidc",
        credentialId: "jti-collect",
        claims: {},
        singleUse: { key: "https://ci.test\njti-collect", until: h.clock.now() + 300_000 },
      },
    };
    const proof = {
      ...token,
      proof: { binding: { jkt: "thumbprint", publicJwk: {} }, replayKey: "jkt:p1", until: h.clock.now() + 60_000 },
    };
    expect((await refusal(collectCredential(h.deps, h.ci, pending.id, proof))).code).toBe("invalid_request");
    const collected = await collectCredential(h.deps, h.ci, pending.id, token);
    expect(collected.grant.state).toBe("active");
    // The same token cannot obtain anything else: it was used to issue.
    const replay = await refusal(requestAccess(h.deps, h.ci, { entitlement: "db/write", duration: "5m" }, token));
    expect(replay.code).toBe("token_replayed");
  });

  it("refuses self-approval, and approval by the owner of the identity when policy says so", async () => {
    const own = await ask(APPROVERS.eve);
    const self = await refusal(approve(APPROVERS.eve, own));
    expect(self).toMatchObject({ code: "approval_refused", publicMessage: "no one approves their own request" });
    const pending = await ask();
    const owner = await refusal(approve(APPROVERS.dave, pending));
    expect(owner.code).toBe("approval_refused");
    expect(owner.publicMessage).toMatch(/owner of 'ci-deploy'/);
    expect((await h.store.getRequest(pending.id))?.approvals).toEqual([]);
    expect((await codes()).filter((c) => c === "request.approval_refused")).toHaveLength(2);
  });

  it("refuses approvers outside the named groups, and the same approver twice", async () => {
    const pending = await ask();
    expect((await refusal(approve(h.other, pending))).code).toBe("approval_refused");
    const once = await approve(APPROVERS.bob, pending);
    expect((await refusal(approve(APPROVERS.bob, once))).publicMessage).toMatch(/already approved/);
  });

  it("binds each approval to the request it saw: a change voids earlier approvals", async () => {
    const pending = await ask();
    const approvedOnce = await approve(APPROVERS.bob, pending);
    const changed = await modifyRequest(h.deps, h.ci, pending.id, { duration: "15m" });
    expect(changed.state).toBe("pending");
    // Carol read the request before the change: her approval is refused, not applied to what she did not see.
    expect((await refusal(approve(APPROVERS.carol, approvedOnce))).code).toBe("request_changed");
    const afterCarol = await approve(APPROVERS.carol, changed);
    expect(afterCarol.state).toBe("pending"); // bob's approval was for the old request
    const done = await approve(APPROVERS.bob, afterCarol);
    expect(done.state).toBe("approved");
    expect((await collectCredential(h.deps, h.ci, pending.id)).grant.expiresAt).toBe(h.clock.now() + 900_000);
  });

  it("checks every approver's right again at issue: one who lost it sends the request back to pending", async () => {
    const pending = await ask();
    await approve(APPROVERS.bob, pending);
    await approve(APPROVERS.carol, (await h.store.getRequest(pending.id))!);
    h.setIdentity({ ...APPROVERS.carol, groups: [] }); // carol left sre before the credential was collected
    const withdrawn = await refusal(collectCredential(h.deps, h.ci, pending.id));
    expect(withdrawn.code).toBe("approval_withdrawn");
    const back = await h.store.getRequest(pending.id);
    expect(back).toMatchObject({ state: "pending", grantId: null });
    expect(back?.stateReason).toMatch(/carol/);
    expect(h.target.accounts.size).toBe(0);
    expect(await codes()).toContain("request.approval_voided");
    await approve(APPROVERS.eve, back!);
    expect((await collectCredential(h.deps, h.ci, pending.id)).grant.state).toBe("active");
  });

  it("times a pending request out and tells the requester why; late approvals are refused", async () => {
    const pending = await ask();
    h.clock.advance(3_600_000);
    expect((await sweepRequests(h.deps)).timedOut).toBe(1);
    const timed = await h.store.getRequest(pending.id);
    expect(timed?.state).toBe("timed_out");
    expect(timed?.stateReason).toMatch(/no approval quorum within the pending timeout/);
    expect((await refusal(approve(APPROVERS.bob, timed!))).code).toBe("invalid_state");
  });

  it("with replicas sharing the store, one sweeper at a time holds the lease; the other sweeps once it is released", async () => {
    const pending = await ask();
    h.clock.advance(3_600_000);
    // A long interval keeps the lease alive across the hour the test moves the clock.
    const first = new ApprovalSweeper(h.deps, { intervalMs: 3_600_000, replicaId: "replica-a" });
    const second = new ApprovalSweeper(h.deps, { intervalMs: 3_600_000, replicaId: "replica-b" });
    expect((await first.runOnce()).timedOut).toBe(1);
    const again = await ask();
    h.clock.advance(3_600_000);
    expect(await second.runOnce()).toStrictEqual({ timedOut: 0, overdue: 0, rotated: 0 });
    expect((await h.store.getRequest(again.id))?.state).toBe("pending");
    await first.stop();
    expect((await second.runOnce()).timedOut).toBe(1);
    await second.stop();
    expect((await h.store.getRequest(pending.id))?.state).toBe("timed_out");
  });

  it("times out an approved credential nobody collected", async () => {
    const pending = await ask();
    await approve(APPROVERS.bob, pending);
    await approve(APPROVERS.carol, (await h.store.getRequest(pending.id))!);
    h.clock.advance(3_600_000);
    await sweepRequests(h.deps);
    expect((await h.store.getRequest(pending.id))?.stateReason).toMatch(/not collected in time/);
    expect((await refusal(collectCredential(h.deps, h.ci, pending.id))).code).toBe("invalid_state");
  });

  it("lets an approver deny and the requester cancel; others may not", async () => {
    const a = await ask();
    expect((await refusal(denyRequest(h.deps, h.other, a.id, {}))).code).toBe("approval_refused");
    const denied = await denyRequest(h.deps, APPROVERS.bob, a.id, { reason: "not during the freeze" });
    expect(denied).toMatchObject({ state: "denied", stateReason: "denied by bob: not during the freeze" });
    const b = await ask();
    expect((await refusal(cancelRequest(h.deps, h.other, b.id))).code).toBe("not_owner");
    expect((await cancelRequest(h.deps, h.ci, b.id)).state).toBe("cancelled");
  });

  it("gives the credential to its requester only", async () => {
    const pending = await ask();
    await approve(APPROVERS.bob, pending);
    await approve(APPROVERS.carol, (await h.store.getRequest(pending.id))!);
    expect((await refusal(collectCredential(h.deps, APPROVERS.bob, pending.id))).code).toBe("not_owner");
  });

  it("writes the pending notification in the same commit as the request", async () => {
    const pending = await ask();
    const outbox = await h.store.listNotifications({ limit: 10 });
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({
      event: "approval_pending",
      sink: "ops",
      state: "pending",
      payload: { requestId: pending.id },
    });
  });

  describe("break-glass", () => {
    it("issues at once with a short maximum, notifies, alarms an overdue review and rotates after the grant ends", async () => {
      const result = await requestAccess(
        h.deps,
        h.ci,
        { entitlement: "db/write", duration: "5m", justification: "prod is down", ticket: "INC-7", breakGlass: true },
        meta,
      );
      if (result.outcome !== "issued") throw new Error("break-glass was not issued");
      expect(result.grant.maxExpiresAt - h.clock.now()).toBe(10 * 60_000);
      expect(result.request).toMatchObject({ breakGlass: true, state: "issued" });
      expect((await h.store.listNotifications({ limit: 10 })).map((n) => n.event)).toEqual(["break_glass"]);
      expect(await codes()).toContain("break_glass.used");

      h.clock.advance(24 * 3_600_000);
      expect((await sweepRequests(h.deps)).overdue).toBe(1);
      expect(await h.store.countOverdueReviews(h.clock.now())).toBe(1);
      expect((await h.store.listNotifications({ limit: 10 })).map((n) => n.event)).toContain("review_overdue");
      expect(await codes()).toContain("break_glass.review_overdue");
      expect((await sweepRequests(h.deps)).overdue).toBe(0); // alarmed once

      expect((await refusal(reviewBreakGlass(h.deps, h.ci, result.request.id, { outcome: "justified" }))).code).toBe(
        "approval_refused",
      );
      const reviewed = await reviewBreakGlass(h.deps, APPROVERS.bob, result.request.id, {
        outcome: "justified",
        note: "INC-7",
      });
      expect(reviewed.review).toMatchObject({ reviewedBy: "bob", outcome: "justified" });
      expect(await h.store.countOverdueReviews(h.clock.now())).toBe(0);

      // The grant ran out long ago; once it is removed the target's admin secret is rotated, once.
      await h.scheduler.runOnce();
      expect((await sweepRequests(h.deps)).rotated).toBe(1);
      expect(h.target.rotations).toBe(1);
      expect((await sweepRequests(h.deps)).rotated).toBe(0);
    });

    it("is refused without a justification, and denied where policy does not permit break_glass", async () => {
      expect(
        (await refusal(requestAccess(h.deps, h.ci, { entitlement: "db/write", breakGlass: true }, meta))).code,
      ).toBe("invalid_request");
      const denied = await requestAccess(
        h.deps,
        h.ci,
        { entitlement: "db/write", justification: "x", breakGlass: true }, // no ticket
        meta,
      );
      expect(denied.outcome).toBe("denied");
      expect(await codes()).toContain("break_glass.denied");
      expect(h.target.accounts.size).toBe(0);
    });
  });

  describe("policy changes", () => {
    const readOnly = `@id("write-only") permit (principal in Group::"ci", action, resource == Entitlement::"db/write");`;

    it("revokes an active grant the new policies no longer permit, with reason policy_changed", async () => {
      const issued = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: "10m" }, meta);
      if (issued.outcome !== "issued") throw new Error("not issued");
      decider.swap(new CedarDecider(compilePolicies("v2", [["p.cedar", readOnly]])));
      expect(await recheckActiveGrants(h.deps, "revoke")).toEqual({ checked: 1, noLongerPermitted: 1, revoked: 1 });
      expect(await h.store.getGrant(issued.grant.id)).toMatchObject({
        state: "verified",
        endReason: "policy_changed",
        endedBy: "policy",
      });
    });

    it("lets it run out when configured so, and says so in the audit log", async () => {
      const issued = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: "10m" }, meta);
      if (issued.outcome !== "issued") throw new Error("not issued");
      decider.swap(new CedarDecider(compilePolicies("v2", [["p.cedar", readOnly]])));
      expect((await recheckActiveGrants(h.deps, "expire")).revoked).toBe(0);
      expect((await h.store.getGrant(issued.grant.id))?.state).toBe("active");
      expect(await codes()).toContain("grant.policy_no_longer_permits");
    });

    it("asks policy again on renewal, and a renewal cannot widen the granted intent", async () => {
      const issued = await requestAccess(
        h.deps,
        h.ci,
        { entitlement: "db/read", duration: "5m", intent: { task: "T-1", actions: ["orders.read"] } },
        meta,
      );
      if (issued.outcome !== "issued") throw new Error("not issued");
      expect(issued.request.intent).toEqual({ task: "T-1", actions: ["orders.read"], description: null });
      const wider = await refusal(
        renewGrant(
          h.deps,
          h.ci,
          issued.grant.id,
          { intent: { task: "T-1", actions: ["orders.read", "orders.write"] } },
          meta,
        ),
      );
      expect(wider).toMatchObject({ code: "intent_exceeded" });
      expect((await renewGrant(h.deps, h.ci, issued.grant.id, { duration: "10m" }, meta)).grant.renewals).toBe(1);
      decider.swap(new CedarDecider(compilePolicies("v2", [["p.cedar", readOnly]])));
      expect((await refusal(renewGrant(h.deps, h.ci, issued.grant.id, { duration: "10m" }, meta))).code).toBe("denied");
    });

    it("denies at collection a request the policies no longer permit", async () => {
      const pending = await ask();
      await approve(APPROVERS.bob, pending);
      await approve(APPROVERS.carol, (await h.store.getRequest(pending.id))!);
      decider.swap(
        new CedarDecider(
          compilePolicies("v2", [
            ["p.cedar", `@id("read") permit (principal, action, resource == Entitlement::"db/read");`],
          ]),
        ),
      );
      expect((await refusal(collectCredential(h.deps, h.ci, pending.id))).code).toBe("denied");
      expect((await h.store.getRequest(pending.id))?.state).toBe("denied");
      expect(h.target.accounts.size).toBe(0);
    });
  });

  it("completes a grant issued from an approved request like any other", async () => {
    const pending = await ask();
    await approve(APPROVERS.bob, pending);
    await approve(APPROVERS.carol, (await h.store.getRequest(pending.id))!);
    const { grant } = await collectCredential(h.deps, h.ci, pending.id);
    expect((await endGrantByCaller(h.deps, h.ci, grant.id, "completed")).state).toBe("verified");
  });
});
