// Policy decision latency: the broker's Cedar decider (sound scope slice, only the entities needed, preparsed slices)
// beside raw preparsed cedar-wasm evaluating the whole set with the same request, at 10, 100 and 1,000 policies.
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import type { EntitlementSpec } from "../src/connectors/connector.js";
import type { Identity } from "../src/domain/types.js";
import { CedarDecider } from "../src/policy/cedar/cedar-decider.js";
import { compilePolicies } from "../src/policy/cedar/policy-set.js";
import { buildCedarRequest } from "../src/policy/cedar/request-shape.js";
import type { DecisionInput } from "../src/policy/decider.js";
import { type LatencySummary, nowMs, summarize } from "./stats.js";

export interface PolicyBenchRow {
  readonly policies: number;
  /** `spread`: policies over 40 groups and 25 targets (each names its entitlement); `all-in-scope`: every policy's scope matches. */
  readonly shape: "spread" | "all-in-scope";
  /** Policies the slice kept for the measured request. */
  readonly slice: number;
  readonly decider: LatencySummary;
  readonly raw: LatencySummary;
}

/** `n` policies: two unconstrained forbids (always in every slice) and permits spread over groups and entitlements. */
function policyText(n: number, shape: PolicyBenchRow["shape"]): string {
  const out = [
    '@id("no-long") forbid (principal, action, resource) when { context.durationSeconds > 86400 };',
    '@id("no-offboarded") forbid (principal, action, resource) when { principal.status == "offboarded" };',
  ];
  for (let i = 2; i < n; i++) {
    const scope =
      shape === "spread"
        ? `principal in Group::"g${i % 40}", action == Action::"request", resource == Entitlement::"t${i % 25}/e${i}"`
        : 'principal, action == Action::"request", resource in Target::"t3"';
    out.push(
      `@id("p${i}") @approval("${i % 3 === 0 ? "auto" : '1 from Group::\\"sre\\"'}") @max_duration("${15 + (i % 4) * 15}m")\n` +
        `permit (${scope}) when { context.durationSeconds <= 3600 && context.ticket != "" && principal.hasTag("env") && principal.getTag("env") == "g${i % 7}" };`,
    );
  }
  return out.join("\n");
}

function time(run: () => void, maxIterations: number, maxMs: number): LatencySummary {
  for (let i = 0; i < Math.min(300, maxIterations); i++) run();
  const samples: number[] = [];
  const end = nowMs() + maxMs;
  while (samples.length < maxIterations && nowMs() < end) {
    const t = nowMs();
    run();
    samples.push(nowMs() - t);
  }
  return summarize(samples);
}

export function runPolicyBench(options: { maxIterations?: number; maxMs?: number } = {}): PolicyBenchRow[] {
  const maxIterations = options.maxIterations ?? 5000;
  const maxMs = options.maxMs ?? 2500;
  const identity: Identity = {
    id: "ci-deploy",
    kind: "pipeline",
    owner: "team",
    groups: ["g3", "ci"],
    attributes: { env: "g3" },
    status: "active",
    admin: false,
  };
  const rows: PolicyBenchRow[] = [];
  for (const [n, shape] of [
    [10, "spread"],
    [100, "spread"],
    [1000, "spread"],
    [1000, "all-in-scope"],
  ] as const) {
    // The request matches permit p3 (group g3, entitlement t3/e3) in the spread shape.
    const entitlement: EntitlementSpec = {
      name: "t3/e3",
      targetId: "t3",
      defaultDurationSeconds: 300,
      maxDurationSeconds: 3600,
      risk: "medium",
      settings: {},
    };
    const input: DecisionInput = {
      identity,
      action: "request",
      resource: { type: "Entitlement", entitlement },
      durationSeconds: 600,
      at: Date.UTC(2026, 0, 5, 10),
      context: {
        justification: "deploy",
        ticket: "CHG-1",
        intent: null,
        sourceAddress: "10.0.0.7",
        authMethod: "oidc",
        claims: { repository: "org/app", ref: "refs/heads/main" },
        client: { kind: "api", interactive: false },
      },
    };
    const set = compilePolicies(`bench-${n}`, [["bench.cedar", policyText(n, shape)]]);
    const decider = new CedarDecider(set);
    const first = decider.decide(input);
    if (first.outcome !== "allow") throw new Error(`bench request was not allowed at ${n} policies: ${first.reason}`);

    const rawId = `bench-raw-${n}-${shape}`;
    const parsed = cedar.preparsePolicySet(rawId, {
      staticPolicies: Object.fromEntries(set.policies.map((p) => [p.id, p.text])),
    });
    if (parsed.type !== "success") throw new Error("raw preparse failed");
    const request = buildCedarRequest(input);
    const rawCall = { ...request, preparsedPolicySetId: rawId, validateRequest: false };
    const check = cedar.statefulIsAuthorized(rawCall);
    if (check.type !== "success" || check.response.decision !== "allow") throw new Error("raw evaluation disagrees");

    const raw = time(() => cedar.statefulIsAuthorized(rawCall), maxIterations, maxMs);
    const ours = time(() => decider.decide(input), maxIterations, maxMs);
    rows.push({ policies: n, shape, slice: decider.slice(input).length, decider: ours, raw });
  }
  return rows;
}
