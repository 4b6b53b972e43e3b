// Model-based test of the approval stage: random interleavings of create, modify, approve (with fresh or stale reads),
// deny, cancel, collect, renew, policy changes and time. Whatever happens: no grant differs from what was approved,
// nobody approved their own request, and no grant outlives its maximum.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { liveApprovals, quorumMet, requestHash } from "../../domain/approval.js";
import type { AccessRequest, Identity } from "../../domain/types.js";
import { CedarDecider } from "../../policy/cedar/cedar-decider.js";
import { compilePolicies } from "../../policy/cedar/policy-set.js";
import { SwappableDecider } from "../../policy/decider.js";
import { ConflictError } from "../../storage/store.js";
import { isEphemeraError } from "../../support/errors.js";
import { replayableSeed } from "../../support/testing/random.js";
import { recheckActiveGrants } from "../policy/recheck-grants.js";
import { renewGrant } from "../renew/renew-grant.js";
import { requestAccess } from "../request/request-access.js";
import { APPROVERS, POLICIES, WRITE } from "../testing/approval-fixtures.js";
import { makeHarness } from "../testing/harness.js";
import { approveRequest } from "./approve-request.js";
import { cancelRequest } from "./cancel-request.js";
import { collectCredential } from "./collect-credential.js";
import { denyRequest } from "./deny-request.js";
import { modifyRequest } from "./modify-request.js";
import { sweepRequests } from "./sweep-requests.js";

/** A stricter set: one approver, a 10-minute maximum, no reads. */
const STRICT = `
@id("write-1-sre") @approval("1 from Group::\\"sre\\"") @max_duration("10m")
permit (principal in Group::"ci", action in [Action::"request", Action::"renew"], resource == Entitlement::"db/write");
@id("sre-approve") permit (principal in Group::"sre", action == Action::"approve", resource in Target::"db");
`;

type Op =
  | { op: "create"; who: number; write: boolean; minutes: number }
  | { op: "modify"; pick: number; minutes: number }
  | { op: "approve"; pick: number; who: number; stale: boolean }
  | { op: "deny"; pick: number; who: number }
  | { op: "cancel"; pick: number }
  | { op: "collect"; pick: number }
  | { op: "renew"; pick: number; minutes: number }
  | { op: "policy"; strict: boolean }
  | { op: "time"; minutes: number };

// Weighted so that runs create pending requests and approve them often enough to reach quorum and collection.
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("create" as const),
      who: fc.nat(1),
      write: fc.oneof(fc.constant(true), fc.boolean()),
      minutes: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 40 })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("modify" as const),
      pick: fc.nat(),
      minutes: fc.integer({ min: 1, max: 40 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant("approve" as const), pick: fc.nat(), who: fc.nat(4), stale: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("deny" as const), pick: fc.nat(), who: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("cancel" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("collect" as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("renew" as const),
      pick: fc.nat(),
      minutes: fc.integer({ min: 1, max: 40 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("policy" as const), strict: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("time" as const), minutes: fc.integer({ min: 1, max: 90 }) }) },
);

/** Pinned unless EPHEMERA_TEST_SEED is set: the coverage checks at the end are about this seed's run. */
const MODEL_SEED = replayableSeed(20261207);

describe("approval model", () => {
  it("holds its invariants over random interleavings", async () => {
    // How often runs got as far as the interesting states, so the test cannot pass by never reaching them.
    const reached = { approved: 0, approvedIssued: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 40 }), async (ops) => {
        const normal = new CedarDecider(compilePolicies("normal", [["p.cedar", POLICIES]]));
        const strict = new CedarDecider(compilePolicies("strict", [["p.cedar", STRICT]]));
        const decider = new SwappableDecider(normal);
        const h = await makeHarness({ decider, identities: Object.values(APPROVERS), entitlements: [WRITE] });
        const requesters: Identity[] = [h.ci, APPROVERS.eve];
        const approvers: Identity[] = [APPROVERS.bob, APPROVERS.carol, APPROVERS.dave, APPROVERS.eve, h.other];
        const requests: string[] = [];
        const grants: string[] = [];
        /** What each approver last read of each request: approving with it later is a stale read. */
        const seen = new Map<string, AccessRequest>();
        /** The hash each request had when its quorum was met, and the policy maximum then. */
        const approvedAs = new Map<string, string>();
        const meta = { sourceAddress: "127.0.0.1" };
        const any = <T>(list: readonly T[], n: number): T | undefined =>
          list.length === 0 ? undefined : list[n % list.length];
        // Mostly a request in the state the step acts on, so random runs reach quorum and collection often;
        // sometimes any request, so steps on the wrong state are exercised too.
        const pickIn = async (states: readonly string[], n: number): Promise<string | undefined> => {
          if (n % 4 === 0) return any(requests, n);
          const fitting: string[] = [];
          for (const id of requests) if (states.includes((await h.store.getRequest(id))?.state ?? "")) fitting.push(id);
          return any(fitting.length > 0 ? fitting : requests, n);
        };
        try {
          for (const step of ops) {
            try {
              switch (step.op) {
                case "create": {
                  const result = await requestAccess(
                    h.deps,
                    requesters[step.who]!,
                    {
                      entitlement: step.write ? "db/write" : "db/read",
                      duration: `${step.minutes}m`,
                      justification: "j",
                    },
                    meta,
                  );
                  requests.push(result.request.id);
                  if (result.outcome === "issued") grants.push(result.grant.id);
                  break;
                }
                case "modify": {
                  const id = any(requests, step.pick);
                  const r = id ? await h.store.getRequest(id) : null;
                  if (r)
                    await modifyRequest(h.deps, (await h.deps.catalog.identity(r.identityId))!, r.id, {
                      duration: `${step.minutes}m`,
                    });
                  break;
                }
                case "approve": {
                  const id = await pickIn(["pending"], step.pick);
                  if (!id) break;
                  const who = approvers[step.who]!;
                  const key = `${who.id}:${id}`;
                  const current = (await h.store.getRequest(id))!;
                  const read = step.stale ? (seen.get(key) ?? current) : current;
                  seen.set(key, current);
                  const after = await approveRequest(h.deps, who, id, { requestHash: requestHash(read) });
                  if (after.state === "approved") {
                    approvedAs.set(id, requestHash(after));
                    reached.approved++;
                  }
                  break;
                }
                case "deny": {
                  const id = await pickIn(["pending"], step.pick);
                  if (id) await denyRequest(h.deps, approvers[step.who]!, id, {});
                  break;
                }
                case "cancel": {
                  const id = await pickIn(["pending", "approved"], step.pick);
                  const r = id ? await h.store.getRequest(id) : null;
                  if (r) await cancelRequest(h.deps, (await h.deps.catalog.identity(r.identityId))!, r.id);
                  break;
                }
                case "collect": {
                  const id = await pickIn(["approved"], step.pick);
                  const r = id ? await h.store.getRequest(id) : null;
                  if (!r) break;
                  const before = requestHash(r);
                  const { grant } = await collectCredential(
                    h.deps,
                    (await h.deps.catalog.identity(r.identityId))!,
                    r.id,
                  );
                  // What is issued is exactly what was approved.
                  if (r.decision?.approval === "required") expect(before).toBe(approvedAs.get(r.id));
                  grants.push(grant.id);
                  break;
                }
                case "renew": {
                  const id = any(grants, step.pick);
                  const g = id ? await h.store.getGrant(id) : null;
                  if (g)
                    await renewGrant(
                      h.deps,
                      (await h.deps.catalog.identity(g.identityId))!,
                      g.id,
                      { duration: `${step.minutes}m` },
                      meta,
                    );
                  break;
                }
                case "policy":
                  decider.swap(step.strict ? strict : normal);
                  await recheckActiveGrants(h.deps, "revoke");
                  break;
                case "time":
                  h.clock.advance(step.minutes * 60_000);
                  await sweepRequests(h.deps);
                  await h.scheduler.runOnce();
                  break;
              }
            } catch (error) {
              // Refusals (audited 4xx) and lost races are expected outcomes of random steps; anything else is a bug.
              if (!isEphemeraError(error) && !(error instanceof ConflictError)) throw error;
              if (isEphemeraError(error) && (error.code === "approval_refused" || error.code === "request_changed")) {
                reached.refused++;
              }
              if (isEphemeraError(error) && error.status >= 500) throw error;
            }
          }

          for (const id of requests) {
            const r = (await h.store.getRequest(id))!;
            // 0 self-approvals, and every approver distinct per hash.
            for (const a of r.approvals) expect(a.approver).not.toBe(r.identityId);
            const live = liveApprovals(r);
            expect(new Set(live.map((a) => a.approver)).size).toBe(live.length);
            if (r.state !== "issued" || r.grantId === null) continue;
            const g = (await h.store.getGrant(r.grantId))!;
            // 0 grants whose scope differs from what was approved.
            expect(g.entitlement).toBe(r.entitlement);
            expect(g.identityId).toBe(r.identityId);
            if (r.decision?.approval === "required") {
              expect(quorumMet(r.decision.approvers ?? [], live)).toBe(true);
              expect(requestHash(r)).toBe(approvedAs.get(r.id));
            }
            expect(g.issuedAt).not.toBeNull();
            if (r.decision?.approval === "required") reached.approvedIssued++;
          }
          for (const id of grants) {
            const g = (await h.store.getGrant(id))!;
            // 0 grants past their maximum: never set beyond it, and the policy maximum in force at issue bounds it.
            expect(g.expiresAt).toBeLessThanOrEqual(g.maxExpiresAt);
            expect(g.maxExpiresAt - g.issuedAt!).toBeLessThanOrEqual((g.entitlement === "db/write" ? 20 : 30) * 60_000);
            // Nothing stays active past its expiry once the scheduler has run.
            if (g.state === "active") expect(g.expiresAt).toBeGreaterThan(h.clock.now() - 1);
          }
        } finally {
          await h.close();
        }
      }),
      // Seeded, so the check below (that the random steps reached an approved issue and a refusal at all) is a fact of
      // this run and not luck; EPHEMERA_TEST_SEED explores other interleavings, and a failure prints its seed.
      { numRuns: 40, seed: MODEL_SEED },
    );
    expect(reached.approvedIssued).toBeGreaterThan(0);
    expect(reached.refused).toBeGreaterThan(0);
  }, 240_000);
});
