// The Cedar adapter: annotations (strictest approval, shortest maximum, flags), the context policy sees, load-time
// validation that refuses a bad set whole, and the scope slice giving the same decision as the whole set.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EntitlementSpec } from "../../connectors/connector.js";
import type { Identity } from "../../domain/types.js";
import { replayableSeed } from "../../support/testing/random.js";
import { AllowListDecider } from "../allow-list.js";
import type { DecisionInput } from "../decider.js";
import { parseApproval, strictest } from "./annotations.js";
import { builtInPolicies, namedActions } from "./built-in.js";
import { CedarDecider } from "./cedar-decider.js";
import { compilePolicies, loadPolicyFolder, PolicyLoadError } from "./policy-set.js";
import { buildCedarRequest } from "./request-shape.js";
import { CEDAR_SCHEMA } from "./schema.js";

const workload: Identity = {
  id: "ci-deploy",
  kind: "pipeline",
  owner: "team-payments",
  groups: ["ci", "payments"],
  attributes: { env: "prod" },
  status: "active",
  admin: false,
};
const orders: EntitlementSpec = {
  name: "orders-db/write",
  targetId: "orders-db",
  defaultDurationSeconds: 300,
  maxDurationSeconds: 7200,
  risk: "high",
  settings: {},
};

function input(overrides: Partial<DecisionInput> = {}, context: Partial<DecisionInput["context"]> = {}): DecisionInput {
  return {
    identity: workload,
    action: "request",
    resource: { type: "Entitlement", entitlement: orders },
    durationSeconds: 600,
    at: Date.UTC(2026, 0, 5, 10, 30), // a Monday
    context: {
      justification: "deploy",
      ticket: "CHG-1",
      intent: null,
      sourceAddress: "10.1.2.3",
      authMethod: "oidc",
      claims: { repository: "org/app", ref: "refs/heads/main", run: 7 },
      ...context,
    },
    ...overrides,
  };
}

const decider = (text: string) => new CedarDecider(compilePolicies("test", [["p.cedar", text]]));

/** The properties' seed: EPHEMERA_TEST_SEED replays a failed run. */
const seed = replayableSeed();

describe("annotations", () => {
  it("parses auto, quorums and conjunctions, taking the larger count for a group named twice", () => {
    expect(parseApproval("auto")).toEqual([]);
    expect(parseApproval('2 from Group::"sre"')).toEqual([{ group: "sre", count: 2 }]);
    expect(parseApproval('1 from Group::"sre" and 1 from Group::"security" and 3 from Group::"sre"')).toEqual([
      { group: "sre", count: 3 },
      { group: "security", count: 1 },
    ]);
    expect(() => parseApproval("two from sre")).toThrow(/expected "auto" or N from Group/);
  });

  it("combines permits: every approval rule, the shortest maximum, owner approval off if any says so", () => {
    const combined = strictest([
      { approvers: [], maxDurationSeconds: 3600, ownerMayApprove: null, flag: null, timeZone: null },
      {
        approvers: [{ group: "sre", count: 2 }],
        maxDurationSeconds: 900,
        ownerMayApprove: false,
        flag: null,
        timeZone: null,
      },
      {
        approvers: [
          { group: "sre", count: 1 },
          { group: "dba", count: 1 },
        ],
        maxDurationSeconds: null,
        ownerMayApprove: true,
        flag: "x",
        timeZone: null,
      },
    ]);
    expect(combined).toEqual({
      approvers: [
        { group: "dba", count: 1 },
        { group: "sre", count: 2 },
      ],
      maxDurationSeconds: 900,
      ownerMayApprove: false,
      flags: ["x"],
    });
  });
});

describe("CedarDecider", () => {
  it("gives the strictest approval and the shortest maximum of the permits that match, with their ids", () => {
    const d = decider(`
      @id("auto-1h") @approval("auto") @max_duration("1h")
      permit (principal in Group::"ci", action == Action::"request", resource in Target::"orders-db");
      @id("sre-15m") @approval("2 from Group::\\"sre\\"") @max_duration("15m")
      permit (principal, action == Action::"request", resource == Entitlement::"orders-db/write") when { resource.risk == "high" };
      @id("other") @approval("1 from Group::\\"x\\"")
      permit (principal in Group::"nobody", action, resource);
    `);
    const decision = d.decide(input());
    expect(decision).toMatchObject({
      outcome: "allow",
      approval: "required",
      approvers: [{ group: "sre", count: 2 }],
      maxDurationSeconds: 900,
      policyVersion: d.version,
    });
    expect([...decision.determiningPolicies].sort()).toEqual(["auto-1h", "sre-15m"]);
  });

  it("denies with the forbidding policy named, and when nothing permits", () => {
    const d = decider(`
      @id("allow") permit (principal, action == Action::"request", resource);
      @id("no-nights") forbid (principal, action, resource) when { context.hour < 6 };
    `);
    expect(d.decide(input({ at: Date.UTC(2026, 0, 5, 3) }))).toMatchObject({
      outcome: "deny",
      determiningPolicies: ["no-nights"],
      reason: "forbidden by no-nights",
    });
    expect(d.decide(input({ action: "approve" }))).toMatchObject({ outcome: "deny", determiningPolicies: [] });
  });

  it("shows policy the claims (any name, as tags), the address, attributes, owner, risk, time and intent", () => {
    const d = decider(`
      permit (principal, action == Action::"request", resource)
      when {
        context.claims.hasTag("repository") && context.claims.getTag("repository") == "org/app" &&
        context.claims.hasTag("run") && context.claims.getTag("run") == "7" &&
        context has sourceAddress && context.sourceAddress.isInRange(ip("10.0.0.0/8")) &&
        principal.hasTag("env") && principal.getTag("env") == "prod" && principal.owner == "team-payments" && principal.kind == "pipeline" &&
        resource.risk == "high" && resource.target == "orders-db" &&
        context.weekday == "mon" && context.hour == 10 && context.minuteOfDay == 630 &&
        context.durationSeconds <= 600 && context.ticket like "CHG-*" && context.authMethod == "oidc" &&
        context.intent.task == "T-1" && context.intent.actions.contains("orders.write")
      };
    `);
    const intent = { task: "T-1", actions: ["orders.write"], description: null };
    expect(d.decide(input({}, { intent })).outcome).toBe("allow");
    expect(d.decide(input({}, { intent, sourceAddress: "192.168.1.1" })).outcome).toBe("deny");
    expect(d.decide(input({}, { intent, claims: { repository: "org/other", run: 7 } })).outcome).toBe("deny");
    expect(d.decide(input({ durationSeconds: 601 }, { intent })).outcome).toBe("deny");
  });

  it("lets policy see a person driving a non-human identity, and a @flag never grants on its own", () => {
    const d = decider(`
      @id("read") permit (principal in Group::"ci", action == Action::"request", resource);
      @id("flag") @flag("human_use_of_nhi")
      permit (principal, action == Action::"request", resource) when { context.client.interactive && principal.kind != "human" };
    `);
    expect(d.decide(input({}, { client: { kind: "cli", interactive: true } }))).toMatchObject({
      outcome: "allow",
      flags: ["human_use_of_nhi"],
    });
    expect(d.decide(input({}, { client: { kind: "api", interactive: false } })).flags).toEqual([]);
    const stranger = { ...workload, id: "x", groups: [] };
    expect(d.decide(input({ identity: stranger }, { client: { kind: "browser", interactive: true } })).outcome).toBe(
      "deny",
    );
  });

  it("sees the requester and whether the approver owns it, for approve", () => {
    const d = decider(`
      permit (principal in Group::"sre", action == Action::"approve", resource) unless { context.principalOwnsRequester };
    `);
    const sre: Identity = { ...workload, id: "bob", kind: "human", owner: null, groups: ["sre"] };
    expect(d.decide(input({ identity: sre, action: "approve" }, { requester: workload })).outcome).toBe("allow");
    const owner = { ...sre, id: "team-payments" };
    expect(d.decide(input({ identity: owner, action: "approve" }, { requester: workload })).outcome).toBe("deny");
  });

  it("denies an identity that is not active whatever the policies say", () => {
    const d = decider(`permit (principal, action, resource);`);
    expect(d.decide(input({ identity: { ...workload, status: "offboarded" } }))).toMatchObject({ outcome: "deny" });
  });
});

describe("privileged actions", () => {
  const admin: Identity = { ...workload, id: "ana", kind: "human", owner: null, groups: ["admins"] };
  const auditor: Identity = { ...workload, id: "aud", kind: "human", owner: null, groups: ["auditors"] };
  const resources: Record<string, DecisionInput["resource"]> = {
    revoke: { type: "Entitlement", entitlement: orders },
    offboard: { type: "Identity", identity: workload },
    reactivate: { type: "Identity", identity: workload },
    discover: { type: "Target", id: "orders-db" },
    rotate: { type: "Target", id: "orders-db" },
    read_audit: { type: "Broker" },
    export_audit: { type: "Broker" },
    admin: { type: "Broker" },
  };
  const ask = (d: CedarDecider, identity: Identity, action: DecisionInput["action"]) =>
    d.decide(input({ identity, action, resource: resources[action]!, durationSeconds: 0 }, { requester: workload }));

  it("lets the admin group perform every privileged action a set does not name, and nobody else", () => {
    const d = decider(`permit (principal in Group::"ci", action == Action::"request", resource);`);
    for (const action of Object.keys(resources) as DecisionInput["action"][]) {
      expect(ask(d, admin, action)).toMatchObject({
        outcome: "allow",
        determiningPolicies: [`builtin:admins-${action}`],
      });
      expect(ask(d, auditor, action).outcome).toBe("deny");
    }
  });

  it("gives a named action only to what the set says, keeps the built-in rule for the others, and applies forbids", () => {
    const d = decider(`
      @id("auditors-read") permit (principal in Group::"auditors", action in [Action::"read_audit", Action::"export_audit"], resource == Broker::"ephemera");
      @id("offboard-pipelines") permit (principal in Group::"admins", action == Action::"offboard", resource is Identity)
        when { resource.kind == "pipeline" };
      @id("no-weekend-rotation") forbid (principal, action == Action::"rotate", resource in Target::"orders-db")
        when { context.weekday == "sun" };
    `);
    expect(ask(d, auditor, "read_audit")).toMatchObject({ outcome: "allow", determiningPolicies: ["auditors-read"] });
    expect(ask(d, admin, "read_audit").outcome).toBe("deny");
    expect(ask(d, admin, "offboard")).toMatchObject({ outcome: "allow", determiningPolicies: ["offboard-pipelines"] });
    const human = { ...workload, id: "hu", kind: "human" as const };
    expect(
      d.decide(input({ identity: admin, action: "offboard", resource: { type: "Identity", identity: human } })),
    ).toMatchObject({ outcome: "deny" });
    expect(ask(d, admin, "admin")).toMatchObject({ outcome: "allow", determiningPolicies: ["builtin:admins-admin"] });
    expect(ask(d, admin, "rotate").outcome).toBe("allow");
    const sunday = Date.UTC(2026, 0, 4, 10);
    expect(
      d.decide({ ...input({ identity: admin, action: "rotate", resource: resources.rotate! }), at: sunday }),
    ).toMatchObject({ outcome: "deny", determiningPolicies: ["no-weekend-rotation"] });
  });

  it("decides review as approve until a policy names review, then by those policies only", () => {
    const approvers = `permit (principal in Group::"sre", action == Action::"approve", resource);`;
    const sre: Identity = { ...workload, id: "bob", kind: "human", owner: null, groups: ["sre"] };
    const review = (d: CedarDecider, who: Identity) =>
      d.decide(input({ identity: who, action: "review" }, { requester: workload })).outcome;
    expect(review(decider(approvers), sre)).toBe("allow");
    expect(review(decider(approvers), admin)).toBe("deny");
    const own = decider(`${approvers}\npermit (principal in Group::"admins", action == Action::"review", resource);`);
    expect(review(own, sre)).toBe("deny");
    expect(review(own, admin)).toBe("allow");
  });

  it("answers the privileged actions from the allow-list too: the admin group only", () => {
    const list = new AllowListDecider([]);
    for (const action of Object.keys(resources) as DecisionInput["action"][]) {
      expect(ask(list as unknown as CedarDecider, admin, action).outcome).toBe("allow");
      expect(ask(list as unknown as CedarDecider, auditor, action).outcome).toBe("deny");
    }
  });
});

describe("time zones", () => {
  const at = (iso: string) => Date.parse(iso);

  it("reads the wall clock in the policy's zone, across a daylight-saving change", () => {
    // Europe/Berlin went to summer time at 01:00 UTC on 2026-03-29: 00:30 UTC is 01:30 local, 01:30 UTC is 03:30.
    const d = decider(`
      @id("berlin-mornings") @time_zone("Europe/Berlin")
      permit (principal, action == Action::"request", resource) when { context.hour >= 3 && context.minuteOfDay < 240 };
    `);
    expect(d.decide(input({ at: at("2026-03-29T00:30:00Z") })).outcome).toBe("deny");
    expect(d.decide(input({ at: at("2026-03-29T01:30:00Z") })).outcome).toBe("allow");
    // Without the annotation the same policy reads UTC: 01:30 is before 03:00.
    const utc = decider(`permit (principal, action == Action::"request", resource) when { context.hour >= 3 };`);
    expect(utc.decide(input({ at: at("2026-03-29T01:30:00Z") })).outcome).toBe("deny");
  });

  it("turns the weekday at local midnight, not UTC midnight", () => {
    // Monday 2026-01-05 23:30 UTC is already Tuesday in Tokyo and still Monday in New York.
    const d = decider(`
      @id("tokyo-tuesday") @time_zone("Asia/Tokyo")
      permit (principal, action == Action::"request", resource) when { context.weekday == "tue" };
      @id("ny-monday") @time_zone("America/New_York")
      permit (principal, action == Action::"request", resource) when { context.weekday == "mon" };
    `);
    const late = d.decide(input({ at: at("2026-01-05T23:30:00Z") }));
    expect(late).toMatchObject({ outcome: "allow" });
    expect([...late.determiningPolicies].sort()).toEqual(["ny-monday", "tokyo-tuesday"]);
    expect(d.decide(input({ at: at("2026-01-05T14:00:00Z") })).determiningPolicies).toEqual(["ny-monday"]);
  });

  it("lets a forbid in one zone override a permit in another", () => {
    const d = decider(`
      @id("any") permit (principal, action == Action::"request", resource);
      @id("berlin-nights") @time_zone("Europe/Berlin") forbid (principal, action, resource) when { context.hour < 6 };
    `);
    expect(d.decide(input({ at: at("2026-07-01T03:30:00Z") }))).toMatchObject({
      outcome: "deny",
      determiningPolicies: ["berlin-nights"],
    });
    expect(d.decide(input({ at: at("2026-07-01T04:30:00Z") })).outcome).toBe("allow");
  });

  it("refuses an unknown zone at load, naming the policy", () => {
    expect(() =>
      compilePolicies("test", [
        ["z.cedar", `@id("p") @time_zone("Mars/Olympus") permit (principal, action, resource);`],
      ]),
    ).toThrow(/z\.cedar policy 'p': @time_zone\("Mars\/Olympus"\): not a time zone/);
  });
});

describe("loading", () => {
  const load = (text: string) => () => compilePolicies("test", [["bad.cedar", text]]);

  it("refuses a set that does not parse, naming the file and line", () => {
    expect(load(`permit (principal, action, resource);\npermit (principal action);`)).toThrow(/bad\.cedar:2:/);
  });

  it("refuses a policy the schema rejects, an unknown annotation, a bad duration, and a reused id", () => {
    expect(load(`permit (principal, action, resource) when { context.nope == 1 };`)).toThrow(PolicyLoadError);
    expect(load(`permit (principal, action == Action::"fly", resource);`)).toThrow(/policy 'bad\.cedar#0'/);
    expect(load(`@approvl("auto") permit (principal, action, resource);`)).toThrow(/unknown annotation @approvl/);
    expect(load(`@max_duration("soon") permit (principal, action, resource);`)).toThrow(/not a positive duration/);
    expect(
      load(`@id("a") permit (principal, action, resource); @id("a") forbid (principal, action, resource);`),
    ).toThrow(/id 'a' is used twice/);
  });

  it("refuses a schema file beside the policies that is not the broker's, and accepts the broker's", () => {
    const dir = mkdtempSync(join(tmpdir(), "ephemera-policies-"));
    try {
      writeFileSync(join(dir, "p.cedar"), "permit (principal, action, resource);");
      writeFileSync(join(dir, "ephemera.cedarschema"), CEDAR_SCHEMA);
      expect(loadPolicyFolder(dir).policies).toHaveLength(1);
      writeFileSync(
        join(dir, "ephemera.cedarschema"),
        "entity Identity; action request appliesTo { principal: Identity, resource: Identity };",
      );
      expect(() => loadPolicyFolder(dir)).toThrow(/differs from the broker's schema/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the version after the content, so the same files give the same version", () => {
    const a = compilePolicies("x", [["a.cedar", "permit (principal, action, resource);"]]);
    const b = compilePolicies("y", [["a.cedar", "permit (principal, action, resource);"]]);
    const c = compilePolicies("x", [["a.cedar", 'permit (principal, action == Action::"request", resource);']]);
    expect(a.version).toBe(b.version);
    expect(a.version).not.toBe(c.version);
  });
});

describe("the slice", () => {
  // "admins" and revoke bring the built-in rule in whenever no random permit names revoke.
  const groups = ["g0", "g1", "g2", "admins"];
  const targets = ["t0", "t1"];
  const ents = ["t0/a", "t0/b", "t1/a"];
  const actions = ["request", "approve", "renew", "break_glass", "revoke"] as const;
  const principalScope = fc.constantFrom(
    "principal",
    'principal == Identity::"i0"',
    'principal == Identity::"i1"',
    ...groups.map((g) => `principal in Group::"${g}"`),
    'principal is Identity in Group::"g1"',
    "principal is Identity",
  );
  const actionScope = fc.constantFrom(
    "action",
    ...actions.map((a) => `action == Action::"${a}"`),
    'action in [Action::"request", Action::"renew"]',
  );
  const resourceScope = fc.constantFrom(
    "resource",
    ...ents.map((e) => `resource == Entitlement::"${e}"`),
    ...targets.map((t) => `resource in Target::"${t}"`),
    'resource is Entitlement in Target::"t1"',
  );
  const condition = fc.constantFrom(
    "",
    " when { context.durationSeconds < 300 }",
    ' unless { principal.kind == "human" }',
  );
  const policy = fc.tuple(fc.constantFrom("permit", "forbid"), principalScope, actionScope, resourceScope, condition);

  it("decides exactly as the whole set does, for random policies and requests", () => {
    fc.assert(
      fc.property(
        fc.array(policy, { minLength: 1, maxLength: 12 }),
        fc.constantFrom("i0", "i1", "i2"),
        fc.subarray(groups),
        fc.constantFrom(...actions),
        fc.constantFrom(...ents),
        fc.integer({ min: 60, max: 600 }),
        (policies, id, memberOf, action, ent, duration) => {
          const texts = policies.map(([effect, p, a, r, c], i) => `@id("p${i}") ${effect} (${p}, ${a}, ${r})${c};`);
          const set = compilePolicies("prop", [["p.cedar", texts.join("\n")]]);
          const d = new CedarDecider(set);
          const identity: Identity = { ...workload, id, groups: memberOf };
          const entitlement = { ...orders, name: ent, targetId: ent.split("/")[0]! };
          const asked = input({
            identity,
            action,
            resource: { type: "Entitlement", entitlement },
            durationSeconds: duration,
          });
          const sliced = d.decide(asked);
          // The reference: the whole set with its built-in rules, unsliced, through cedar-wasm directly.
          const all = [...set.policies, ...builtInPolicies(namedActions(set.policies))];
          const whole = cedar.isAuthorized({
            ...buildCedarRequest(asked),
            policies: { staticPolicies: Object.fromEntries(all.map((p) => [p.id, p.text])) },
          });
          if (whole.type !== "success") throw new Error("reference evaluation failed");
          expect(sliced.outcome).toBe(whole.response.decision);
          if (sliced.outcome === "allow") {
            expect([...sliced.determiningPolicies].sort()).toEqual([...whole.response.diagnostics.reason].sort());
          }
        },
      ),
      { numRuns: 300, seed },
    );
  });
});
