// The transitions table is the only way states change: every illegal move is refused, every legal one lands where the table says.
import { describe, expect, it } from "vitest";
import {
  canTransitionGrant,
  GRANT_TRANSITIONS,
  type GrantEvent,
  grantEnded,
  grantIssued,
  grantRemovalFailed,
  grantRemoved,
  grantRenewed,
  grantRetry,
  grantVerified,
  IllegalTransitionError,
  openGrant,
  openRequest,
  REQUEST_TRANSITIONS,
  type RequestEvent,
  transitionRequest,
} from "./transitions.js";
import type { AccessRequest, Decision, Grant, GrantState, RequestState } from "./types.js";

const GRANT_STATES: GrantState[] = ["issuing", "active", "revoking", "revoke_failed", "revoked", "verified"];
const REQUEST_STATES: RequestState[] = ["pending", "approved", "denied", "cancelled", "timed_out", "issued", "failed"];

function grant(state: GrantState): Grant {
  const opened = openGrant({
    id: "grt_1",
    requestId: "req_1",
    identityId: "ci",
    targetId: "t",
    entitlement: "t/read",
    connectorType: "token",
    handle: "grt_1",
    handleData: {},
    createdAt: 0,
    expiresAt: 60_000,
    maxExpiresAt: 120_000,
    dueAt: 60_000,
  });
  return { ...opened, state };
}

function request(state: RequestState): AccessRequest {
  return {
    id: "req_1",
    identityId: "ci",
    entitlement: "t/read",
    targetId: "t",
    durationSeconds: 60,
    justification: null,
    ticket: null,
    intent: null,
    breakGlass: false,
    state,
    decision: null,
    grantId: null,
    stateReason: null,
    createdAt: 0,
    updatedAt: 0,
    version: 1,
    revision: 0,
    approvals: [],
    dueAt: null,
    review: null,
    facts: null,
  };
}

const applyGrant: Record<GrantEvent, (g: Grant) => Grant> = {
  issued: (g) => grantIssued(g, 1, 60_000, {}),
  issue_failed: (g) => grantEnded(g, "issue_failed", "issue_failed", "system", 1, 2),
  renewed: (g) => grantRenewed(g, 90_000, {}),
  end: (g) => grantEnded(g, "end", "expired", "scheduler", 1, 2),
  retry: (g) => grantRetry(g, 2),
  removed: (g) => grantRemoved(g, 1, 2),
  removal_failed: (g) => grantRemovalFailed(g, "boom", 5),
  verified: (g) => grantVerified(g, 1, { checkedAt: 1, checks: [] }),
};

describe("grant transitions", () => {
  for (const event of Object.keys(GRANT_TRANSITIONS) as GrantEvent[]) {
    for (const state of GRANT_STATES) {
      const allowed = (GRANT_TRANSITIONS[event].from as readonly GrantState[]).includes(state);
      it(`${event} from ${state} is ${allowed ? "allowed" : "refused"}`, () => {
        expect(canTransitionGrant(state, event)).toBe(allowed);
        if (allowed) {
          const next = applyGrant[event](grant(state));
          expect(next.state).toBe(GRANT_TRANSITIONS[event].to);
          expect(next.version).toBe(2);
        } else {
          expect(() => applyGrant[event](grant(state))).toThrow(IllegalTransitionError);
        }
      });
    }
  }

  it("verified is terminal: nothing leaves it", () => {
    for (const event of Object.keys(GRANT_TRANSITIONS) as GrantEvent[]) {
      expect(canTransitionGrant("verified", event)).toBe(false);
    }
  });

  it("only verification reaches verified, and only from revoked", () => {
    const into = Object.entries(GRANT_TRANSITIONS).filter(([, t]) => t.to === "verified");
    expect(into.map(([e]) => e)).toEqual(["verified"]);
    expect(GRANT_TRANSITIONS.verified.from).toEqual(["revoked"]);
  });

  it("renewal never passes the maximum", () => {
    expect(() => grantRenewed(grant("active"), 120_001, {})).toThrow(IllegalTransitionError);
    expect(grantRenewed(grant("active"), 120_000, {}).expiresAt).toBe(120_000);
  });

  it("a removal failure schedules a retry and counts the attempt", () => {
    const failed = grantRemovalFailed(grant("revoking"), "target down", 9_000);
    expect(failed).toMatchObject({ state: "revoke_failed", attempts: 1, dueAt: 9_000, lastError: "target down" });
  });
});

describe("request transitions", () => {
  for (const event of Object.keys(REQUEST_TRANSITIONS) as RequestEvent[]) {
    for (const state of REQUEST_STATES) {
      const allowed = (REQUEST_TRANSITIONS[event].from as readonly RequestState[]).includes(state);
      it(`${event} from ${state} is ${allowed ? "allowed" : "refused"}`, () => {
        if (allowed) expect(transitionRequest(request(state), event, 5).state).toBe(REQUEST_TRANSITIONS[event].to);
        else expect(() => transitionRequest(request(state), event, 5)).toThrow(IllegalTransitionError);
      });
    }
  }
});

describe("a new request", () => {
  const decision = (outcome: Decision["outcome"], approval: Decision["approval"]): Decision => ({
    outcome,
    approval,
    determiningPolicies: [],
    reason: outcome === "deny" ? "no policy permits" : "permitted",
    maxDurationSeconds: null,
  });
  const opened = (d: Decision, breakGlass = false) =>
    openRequest(
      { ...request("pending"), breakGlass, decision: d, createdAt: 1_000 },
      { pendingTimeoutMs: 60_000, reviewWithinMs: 3_600_000 },
    );

  it("opens in the state its decision gives, with what falls due", () => {
    expect(opened(decision("deny", "auto"))).toMatchObject({ state: "denied", stateReason: "no policy permits" });
    expect(opened(decision("deny", "auto"), true)).toMatchObject({ state: "denied", dueAt: null, review: null });
    expect(opened(decision("allow", "required"))).toMatchObject({ state: "pending", dueAt: 61_000, review: null });
    expect(opened(decision("allow", "auto"))).toMatchObject({ state: "approved", dueAt: null, stateReason: null });
    expect(opened(decision("allow", "required"), true)).toMatchObject({
      state: "approved",
      dueAt: 3_601_000,
      review: { dueAt: 3_601_000, reviewedBy: null, outcome: null },
    });
  });

  it("starts at version 1 with no approvals and no grant", () => {
    expect(opened(decision("allow", "auto"))).toMatchObject({ version: 1, revision: 0, approvals: [], grantId: null });
  });
});
