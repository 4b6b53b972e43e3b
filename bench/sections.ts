// The bench's sections after the broker's own, in the order they run: each measures, adds its rows, returns its JSON.
import { runAbuseBench } from "./abuse.js";
import { runAgentBench } from "./agent.js";
import { type ConnectorsResult, runConnectorBenches } from "./connectors/run-connectors.js";
import { withOtherCpu } from "./cpu.js";
import { runMcpBench } from "./mcp.js";
import { runMemory } from "./memory.js";
import type { BenchOptions } from "./options.js";
import { runPolicyBench } from "./policy.js";
import { type PostgresBenchResult, runPostgresBench } from "./postgres.js";
import { fmt, log, quiet, row, rows, TARGETS, warnings } from "./report.js";
import { median, round } from "./stats.js";
import { runWorkloadJwtBench } from "./workload-jwt.js";

/** Workload-JWT authentication beside a bare jose verify of the same tokens (p50, p99, ratio). */
export async function jwtSection(options: Pick<BenchOptions, "only">): Promise<Record<string, unknown>[]> {
  log(
    `${options.only.jwt ? "jwt only" : "5/8"}: workload JWT through the OIDC authenticator beside a bare jose jwtVerify`,
  );
  const results = await runWorkloadJwtBench();
  for (const r of results) {
    const name = `workload JWT ${r.alg} (${r.tokens.toLocaleString("en-US")} tokens)`;
    row(name, "authenticator p50 / p99", `${fmt(r.broker.p50)} / ${fmt(r.broker.p99, " ms")}`);
    row(name, "bare jose jwtVerify p50 / p99", `${fmt(r.bare.p50)} / ${fmt(r.bare.p99, " ms")}`);
    row(name, "authenticator ÷ bare (p50)", fmt(r.broker.p50 / r.bare.p50));
  }
  return results.map((r) => ({
    alg: r.alg,
    tokens: r.tokens,
    authenticatorP50Ms: round(r.broker.p50),
    authenticatorP99Ms: round(r.broker.p99),
    bareP50Ms: round(r.bare.p50),
    bareP99Ms: round(r.bare.p99),
    ratioP50: round(r.broker.p50 / r.bare.p50),
  }));
}

/** Policy decisions: the broker's Cedar decider beside raw preparsed cedar-wasm on the whole set, same request. */
export async function policySection(options: Pick<BenchOptions, "only">): Promise<Record<string, unknown>> {
  log(
    `${options.only.policy ? "policy only" : "6/8"}: Cedar decider (sliced) beside raw preparsed cedar-wasm (whole set)`,
  );
  const measured = await withOtherCpu(async () => runPolicyBench());
  const results = measured.result;
  quiet("policy decisions", measured.otherCpuPercent);
  const other = measured.otherCpuPercent;
  row("policy decisions", "CPU other processes used", other === null ? "n/a" : `${other.toFixed(1)}% of a core`);
  const json: Record<string, unknown> = {};
  for (const r of results) {
    const name = `policy, ${r.policies.toLocaleString("en-US")} policies (${r.shape})`;
    const targeted = r.policies === 1000 && r.shape === "spread";
    row(
      name,
      "decider p50 / p99",
      `${fmt(r.decider.p50 * 1000)} / ${fmt(r.decider.p99 * 1000, " µs")}`,
      targeted ? `p99 ≤ ${TARGETS.policyP99Ms * 1000} µs` : "",
      targeted ? r.decider.p99 <= TARGETS.policyP99Ms : null,
    );
    row(name, "raw cedar-wasm p50 / p99", `${fmt(r.raw.p50 * 1000)} / ${fmt(r.raw.p99 * 1000, " µs")}`);
    row(name, "policies in slice / raw p50 ÷ decider p50", `${r.slice} / ${fmt(r.raw.p50 / r.decider.p50)}`);
    json[`${r.policies}-${r.shape}`] = {
      slice: r.slice,
      deciderP50Us: round(r.decider.p50 * 1000),
      deciderP99Us: round(r.decider.p99 * 1000),
      rawP50Us: round(r.raw.p50 * 1000),
      rawP99Us: round(r.raw.p99 * 1000),
      samples: r.decider.count,
    };
  }
  return json;
}

/** An MCP tool call until the credential is in the sink (tmpfs and disk), beside the plain HTTP request, interleaved. */
export async function mcpSection(root: string, options: Pick<BenchOptions, "only">): Promise<Record<string, unknown>> {
  log(
    `${options.only.mcp ? "mcp only" : "mcp"}: request_access over stdio → credential in the sink, beside the plain HTTP request`,
  );
  const measured = await withOtherCpu(() => runMcpBench(root));
  const r = measured.result;
  quiet("MCP tool call → sink", measured.otherCpuPercent);
  const name = `AI agent: MCP tool call → sink (${r.iterations} interleaved)`;
  row(name, "plain HTTP request p50 / p99", `${fmt(r.http.p50)} / ${fmt(r.http.p99, " ms")}`);
  const json: Record<string, unknown> = {
    iterations: r.iterations,
    httpP50Ms: round(r.http.p50),
    httpP99Ms: round(r.http.p99),
  };
  for (const [where, summary] of [
    ["tmpfs", r.mcpTmpfs],
    ["disk", r.mcpDisk],
  ] as const) {
    if (summary === null) continue;
    const p50 = summary.p50 / r.http.p50;
    const p99 = summary.p99 / r.http.p99;
    row(name, `MCP → sink on ${where} p50 / p99`, `${fmt(summary.p50)} / ${fmt(summary.p99, " ms")}`);
    row(
      name,
      `MCP (${where}) ÷ HTTP p50 / p99`,
      `${fmt(p50)} / ${fmt(p99)}`,
      `≤ ${TARGETS.mcpOverHttp}`,
      p50 <= TARGETS.mcpOverHttp && p99 <= TARGETS.mcpOverHttp,
    );
    json[where] = { p50Ms: round(summary.p50), p99Ms: round(summary.p99), ratioP50: round(p50), ratioP99: round(p99) };
  }
  return json;
}

/** A flood of bad keys beside a workload's requests, in alternating rounds; the audit events the flood left. */
export async function abuseSection(
  root: string,
  options: Pick<BenchOptions, "only">,
): Promise<Record<string, unknown>> {
  log(`${options.only.abuse ? "abuse only" : "abuse"}: a workload's requests with and without a flood of bad API keys`);
  const measured = await withOtherCpu(() => runAbuseBench(root));
  const r = measured.result;
  quiet("abuse", measured.otherCpuPercent);
  const name = `A flood of bad keys (${r.rounds} alternating rounds)`;
  row(name, "workload request, quiet p50 / p99", `${fmt(r.quiet.p50)} / ${fmt(r.quiet.p99, " ms")}`);
  row(name, "workload request, flooded p50 / p99", `${fmt(r.flooded.p50)} / ${fmt(r.flooded.p99, " ms")}`);
  row(name, "flooded ÷ quiet p99", fmt(r.flooded.p99 / r.quiet.p99));
  const statuses = Object.entries(r.floodStatuses)
    .map(([status, n]) => `${n} × ${status}`)
    .join(", ");
  row(name, "flood requests", `${r.floodRequests} (${statuses})`);
  row(
    name,
    "audit events they left (auth.failed)",
    String(r.refusalEvents),
    `≤ ${TARGETS.abuseRefusalEvents}`,
    r.refusalEvents <= TARGETS.abuseRefusalEvents,
  );
  return {
    quietP50Ms: round(r.quiet.p50),
    quietP99Ms: round(r.quiet.p99),
    floodedP50Ms: round(r.flooded.p50),
    floodedP99Ms: round(r.flooded.p99),
    floodRequests: r.floodRequests,
    floodStatuses: r.floodStatuses,
    refusalEvents: r.refusalEvents,
  };
}

/** `ephemera agent`: what an app sees while its credential rotates, and what the agent costs when idle. */
export async function agentSection(
  root: string,
  options: Pick<BenchOptions, "only">,
): Promise<Record<string, unknown>> {
  log(
    `${options.only.agent ? "agent only" : "agent"}: rotation gap under a live PostgreSQL app; idle agent with 10 credentials`,
  );
  const r = await runAgentBench(root);
  const name = "agent rotation (PostgreSQL, 4 s grants, 50 ms ops)";
  row(name, "rotations / operations", `${r.rotations} / ${r.ops}`);
  row(name, "failed operations", String(r.failedOps), "0", r.failedOps === TARGETS.agentRotationFailedOps);
  row(name, "steady p50 / p99", `${fmt(r.steady.p50)} / ${fmt(r.steady.p99, " ms")}`);
  row(name, "within 1 s of a rotation p50 / p99", `${fmt(r.rotating.p50)} / ${fmt(r.rotating.p99, " ms")}`);
  row(
    name,
    "extra p99 during rotation",
    fmt(r.extraP99Ms, " ms"),
    `≤ ${TARGETS.agentRotationExtraP99Ms} ms`,
    r.extraP99Ms <= TARGETS.agentRotationExtraP99Ms,
  );
  const idle = `agent idle, ${r.idle.credentials} credentials`;
  row(idle, "RSS", fmt(r.idle.rssMiB, " MiB"));
  row(idle, `CPU over ${fmt(r.idle.seconds, " s")}`, `${fmt(r.idle.cpuPercent)}% of a core`);
  return { agent: r };
}

/** Step 7: each connector's issue and proven removal beside the raw statements. Adds its rows; returns its notes and JSON. */
export async function connectorsSection(
  options: Pick<BenchOptions, "only" | "connectorIterations">,
): Promise<Pick<ConnectorsResult, "notes" | "json">> {
  log(
    `${options.only.connectors ? "connectors only" : "7/8"}: each connector's issue and proven removal beside the raw statements`,
  );
  const connectors = await runConnectorBenches({
    log,
    ...(options.connectorIterations === undefined ? {} : { iterations: options.connectorIterations }),
  });
  rows.push(...connectors.rows);
  warnings.push(...connectors.warnings);
  return connectors;
}

/** Step 8: the PostgreSQL store with 1,000,000 grants. Adds its rows; returns its JSON. */
export async function postgresSection(
  root: string,
  options: Pick<BenchOptions, "only" | "storeUrl" | "pgExpiring" | "pgWindowMs">,
): Promise<Record<string, unknown>> {
  log(
    `${options.only.postgres ? "PostgreSQL only" : "8/8"}: the PostgreSQL store with 1,000,000 grants (${options.storeUrl.replace(/:[^:@/]*@/, ":…@")})`,
  );
  const scenario = "PostgreSQL, 1M grants (100k active)";
  let result: PostgresBenchResult;
  try {
    const run = await withOtherCpu(() =>
      runPostgresBench(
        {
          url: options.storeUrl,
          total: 1_000_000,
          active: 100_000,
          expiring: options.pgExpiring,
          windowMs: options.pgWindowMs,
          leadMs: 3_000,
          drainTimeoutMs: 60_000,
          removalConcurrency: 512,
          log,
        },
        root,
      ),
    );
    result = run.result;
    quiet(scenario, run.otherCpuPercent);
  } catch (error) {
    row(scenario, "not measured", String(error instanceof Error ? error.message : error).slice(0, 120), "", false);
    return { error: String(error) };
  }
  const restartMedian = median(result.restartMs);
  row(
    scenario,
    "seeded grants / time",
    `${result.seeded.toLocaleString("en-US")} / ${fmt(result.seedMs / 1000, " s")}`,
  );
  row(
    scenario,
    "verified in window",
    `${result.verified.toLocaleString("en-US")} / ${result.expiring.toLocaleString("en-US")}`,
    "all",
    result.verified >= result.expiring,
  );
  row(scenario, "expiry lag p50 (verifiedAt − expiresAt)", fmt(result.lag.p50, " ms"));
  row(
    scenario,
    "expiry lag p99",
    fmt(result.lag.p99, " ms"),
    `≤ ${TARGETS.expiryLagP99Ms} ms`,
    result.lag.p99 <= TARGETS.expiryLagP99Ms,
  );
  row(scenario, "expiry lag max", fmt(result.lag.max, " ms"));
  row(scenario, "pickup lag p99 (endedAt)", fmt(result.pickupLag.p99, " ms"));
  const three = result.threeReplicas;
  row(
    scenario,
    "3 replicas: verified in window",
    `${three.verified.toLocaleString("en-US")} / ${three.expiring.toLocaleString("en-US")}`,
    "all",
    three.verified >= three.expiring,
  );
  row(
    scenario,
    "3 replicas: expiry lag p50 / p99",
    `${fmt(three.lag.p50)} / ${fmt(three.lag.p99, " ms")}`,
    `≤ ${TARGETS.expiryLagP99Ms} ms`,
    three.lag.p99 <= TARGETS.expiryLagP99Ms,
  );
  row(scenario, "3 replicas: removals by replica", three.removalsByReplica.join(" / "));
  row(
    scenario,
    "audit chain after expiry",
    result.chainVerified ? "verifies" : "does not verify",
    "verifies",
    result.chainVerified,
  );
  row(
    scenario,
    "issue over HTTP c=1 p50 / p99",
    `${fmt(result.c1.latency.p50)} / ${fmt(result.c1.latency.p99, " ms")}`,
  );
  row(
    scenario,
    "issue over HTTP c=32 cred/s, p50 / p99",
    `${fmt(result.c32.credentialsPerSecond)}, ${fmt(result.c32.latency.p50)} / ${fmt(result.c32.latency.p99, " ms")}`,
  );
  const errors = result.c1.errorCount + result.c32.errorCount;
  row(scenario, "HTTP errors", String(errors), "0 errors", errors === 0);
  row(
    scenario,
    "restart to /readyz 200 (median of 3)",
    `${fmt(restartMedian, " ms")} [${result.restartMs.map((t) => round(t)).join(", ")}]`,
    `≤ ${TARGETS.restartReadyMs} ms`,
    restartMedian <= TARGETS.restartReadyMs,
  );
  return {
    server: result.serverVersion,
    seeded: result.seeded,
    seedMs: round(result.seedMs),
    expiring: result.expiring,
    verified: result.verified,
    lagP50Ms: round(result.lag.p50),
    lagP99Ms: round(result.lag.p99),
    lagMaxMs: round(result.lag.max),
    pickupP99Ms: round(result.pickupLag.p99),
    threeReplicas: {
      verified: three.verified,
      lagP50Ms: round(three.lag.p50),
      lagP99Ms: round(three.lag.p99),
      lagMaxMs: round(three.lag.max),
      removalsByReplica: three.removalsByReplica,
      changeSets: three.changeSets,
      commits: three.commits,
    },
    chainVerified: result.chainVerified,
    c1: { p50Ms: round(result.c1.latency.p50), p99Ms: round(result.c1.latency.p99), errors: result.c1.errorCount },
    c32: {
      credentialsPerSecond: round(result.c32.credentialsPerSecond),
      p50Ms: round(result.c32.latency.p50),
      p99Ms: round(result.c32.latency.p99),
      errors: result.c32.errorCount,
    },
    restartMedianMs: round(restartMedian),
    restartMs: result.restartMs.map(round),
  };
}

/** Broker RSS and live heap from 100,000 active grants to `--memory-credentials` issued; growth between checkpoints. */
export async function memorySection(
  root: string,
  options: Pick<BenchOptions, "memoryCredentials">,
): Promise<Record<string, unknown>> {
  const total = options.memoryCredentials;
  const checkpoints = [...new Set([100_000, total / 4, total / 2, (total * 3) / 4, total].map(Math.round))]
    .filter((n) => n >= 100_000 && n <= total)
    .sort((a, b) => a - b);
  log(`memory: a broker process on SQLite issuing ${total.toLocaleString("en-US")} token credentials in process`);
  const measured = await withOtherCpu(() => runMemory(root, { checkpoints, concurrency: 64, log }));
  const r = measured.result;
  quiet("memory", measured.otherCpuPercent);
  const name = `memory: broker on SQLite, ${total.toLocaleString("en-US")} credentials`;
  const mib = (v: number) => fmt(v, " MiB");
  row(name, "idle after start: RSS / heap used", `${mib(r.idle.rssMiB)} / ${mib(r.idle.heapUsedMiB)}`);
  let previous = r.idle;
  for (const p of r.checkpoints) {
    const growth = p.rssMiB - previous.rssMiB;
    const heapGrowth = p.heapUsedMiB - previous.heapUsedMiB;
    row(
      name,
      `${p.credentials.toLocaleString("en-US")} issued (${p.activeGrants.toLocaleString("en-US")} active): RSS / heap`,
      `${mib(p.rssMiB)} / ${mib(p.heapUsedMiB)} (${growth >= 0 ? "+" : ""}${fmt(growth)} / ${heapGrowth >= 0 ? "+" : ""}${fmt(heapGrowth)})`,
    );
    previous = p;
  }
  row(name, "credentials/s (in process, 64 in flight)", fmt(r.credentialsPerSecond));
  row(
    name,
    "errors",
    `${r.errors}${r.firstError === null ? "" : ` (first: ${r.firstError.slice(0, 80)})`}`,
    "0",
    r.errors === 0,
  );
  const first = r.checkpoints[0];
  const last = r.checkpoints.at(-1);
  return {
    idle: { rssMiB: round(r.idle.rssMiB), heapUsedMiB: round(r.idle.heapUsedMiB) },
    checkpoints: r.checkpoints.map((p) => ({
      credentials: p.credentials,
      activeGrants: p.activeGrants,
      rssMiB: round(p.rssMiB),
      heapUsedMiB: round(p.heapUsedMiB),
      externalMiB: round(p.externalMiB),
      seconds: round(p.seconds),
    })),
    rssAt100kActiveMiB: first === undefined ? null : round(first.rssMiB),
    heapAt100kActiveMiB: first === undefined ? null : round(first.heapUsedMiB),
    rssAfterAllMiB: last === undefined ? null : round(last.rssMiB),
    heapAfterAllMiB: last === undefined ? null : round(last.heapUsedMiB),
    rssGrowthFrom100kMiB: first === undefined || last === undefined ? null : round(last.rssMiB - first.rssMiB),
    heapGrowthFrom100kMiB:
      first === undefined || last === undefined ? null : round(last.heapUsedMiB - first.heapUsedMiB),
    credentialsPerSecond: round(r.credentialsPerSecond),
    errors: r.errors,
  };
}
