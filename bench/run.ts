// `npm run bench`: credential issue over HTTP, the raw sign+fsync floor, expiry lag, restart time and each connector's
// issue and removal beside the raw statements, in one run and one table. `--connectors-only` runs the last part alone.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runAbuseBench } from "./abuse.js";
import { runAgentBench } from "./agent.js";
import { type ChildBroker, ENTITLEMENT, startChildBroker, writeBenchConfig } from "./broker-process.js";
import { runConnectorBenches } from "./connectors/run-connectors.js";
import { withOtherCpu } from "./cpu.js";
import { type ExpiryResult, runExpiry } from "./expiry.js";
import { type FloorResult, runFloor } from "./floor.js";
import { type LoadResult, runLoad } from "./http-load.js";
import { REPO_ROOT } from "./library.js";
import { runMcpBench } from "./mcp.js";
import { runPolicyBench } from "./policy.js";
import { type PostgresBenchResult, runPostgresBench } from "./postgres.js";
import { formatProfile, latestProfile, summarizeProfile } from "./profile.js";
import { round } from "./stats.js";
import { runWorkloadJwtBench } from "./workload-jwt.js";

const TARGETS = {
  credentialsPerSecondAt32: 3000,
  p99Ms: 15,
  /** Broker throughput at 32 over floor throughput: at most twice the floor's cost per credential. */
  floorRatio: 0.5,
  expiryLagP99Ms: 1000,
  restartReadyMs: 3000,
  /** A policy decision at 1,000 policies (typical spread), p99. */
  policyP99Ms: 0.5,
  /** An AI agent's MCP tool call to a credential in its sink, over the plain HTTP request. */
  mcpOverHttp: 1.5,
  /** Audit events a flood of bad keys from one address may leave (first refusals and summaries): a few dozen. */
  abuseRefusalEvents: 36,
  /** The agent's rotation as an app sees it: no failed operation, and at most this much more p99 latency. */
  agentRotationFailedOps: 0,
  agentRotationExtraP99Ms: 5,
} as const;

/** The flags `npm run bench -- …` takes; any other is refused, not ignored. */
const FLAGS = {
  profile: { type: "boolean" },
  keep: { type: "boolean" },
  only: { type: "string" },
  "connectors-only": { type: "boolean" },
  "postgres-only": { type: "boolean" },
  "connector-iterations": { type: "string" },
  "pg-expiring": { type: "string" },
  "pg-window": { type: "string" },
} as const;

function commandLine() {
  try {
    return parseArgs({ args: process.argv.slice(2), options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const known = Object.keys(FLAGS)
      .map((f) => `--${f}`)
      .join(", ");
    throw new Error(`${(error as Error).message}\nthe bench takes ${known}`);
  }
}
const args = commandLine();

const PROFILE = args.profile === true;
const KEEP = args.keep === true;
const ONLY = args.only;
const ONLY_SECTIONS = ["abuse", "agent", "broker", "connectors", "jwt", "mcp", "policy", "postgres"] as const;
if (ONLY !== undefined && !ONLY_SECTIONS.some((o) => o === ONLY)) {
  throw new Error(`--only takes ${ONLY_SECTIONS.map((o) => `"${o}"`).join(", ")}, not ${ONLY}`);
}
/** `--only jwt`: just the workload-JWT verification section. */
/** `--only broker`: just the broker scenarios 1–4 (HTTP issue, floor, expiry, restart). */
const BROKER_ONLY = ONLY === "broker";
const JWT_ONLY = ONLY === "jwt";
/** `--only policy`: just the policy decision section. */
const POLICY_ONLY = ONLY === "policy";
/** `--only mcp`: just the AI-agent path (MCP tool call → credential in the sink) beside the plain HTTP request. */
const MCP_ONLY = ONLY === "mcp";
/** `--only abuse`: a workload's requests with and without a flood of bad keys, and the audit events the flood left. */
const ABUSE_ONLY = ONLY === "abuse";
/** `--only agent`: just `ephemera agent` (rotation gap under a live app, idle cost of 10 credentials). */
const AGENT_ONLY = ONLY === "agent";
/** `--connectors-only` (or `--only connectors`): just the per-connector section, without the broker scenarios. */
const CONNECTORS_ONLY = args["connectors-only"] === true || ONLY === "connectors";
/** `--postgres-only` (or `--only postgres`): just the PostgreSQL store at 1,000,000 grants. */
const POSTGRES_ONLY = args["postgres-only"] === true || ONLY === "postgres";
if ([BROKER_ONLY, CONNECTORS_ONLY, POSTGRES_ONLY, JWT_ONLY, POLICY_ONLY, AGENT_ONLY].filter(Boolean).length > 1) {
  throw new Error("--connectors-only, --postgres-only and --only exclude each other");
}
/** With any `--only` (or `--…-only`) just that section runs; without, all of them. */
const ANY_ONLY =
  BROKER_ONLY || CONNECTORS_ONLY || POSTGRES_ONLY || JWT_ONLY || POLICY_ONLY || MCP_ONLY || AGENT_ONLY || ABUSE_ONLY;
const runs = (only: boolean): boolean => !ANY_ONLY || only;
/** The PostgreSQL the store scenario uses (a schema of its own, dropped after). */
const STORE_URL = process.env.EPHEMERA_BENCH_STORE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const ITERATIONS_OPTION = args["connector-iterations"];
/** `--connector-iterations N`: measured iterations for every connector instead of each one's default. */
const CONNECTOR_ITERATIONS = ITERATIONS_OPTION === undefined ? undefined : Number(ITERATIONS_OPTION);
if (CONNECTOR_ITERATIONS !== undefined && !(Number.isInteger(CONNECTOR_ITERATIONS) && CONNECTOR_ITERATIONS > 0)) {
  throw new Error(`--connector-iterations takes a positive integer, not ${ITERATIONS_OPTION}`);
}
/** A positive integer option, or `fallback` when absent. */
function positiveOption(name: "pg-expiring" | "pg-window", fallback: number): number {
  const raw = args[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!(Number.isInteger(value) && value > 0)) throw new Error(`--${name} takes a positive integer, not ${raw}`);
  return value;
}
/**
 * `--pg-expiring N` / `--pg-window S`: how many of the 100,000 active grants expire during the PostgreSQL expiry
 * window, and its length in seconds. The default (20,000 in 15 s, ~1,300 per second) is a stress rate; 100,000 grants
 * of 15-minute lifetimes expire at ~110 per second (`--pg-expiring 2000`).
 */
const PG_EXPIRING = positiveOption("pg-expiring", 20_000);
const PG_WINDOW_MS = positiveOption("pg-window", 15) * 1000;
if (PG_EXPIRING > 100_000)
  throw new Error(`--pg-expiring takes at most 100000 (the active grants), not ${PG_EXPIRING}`);

interface Row {
  readonly scenario: string;
  readonly metric: string;
  readonly value: string;
  readonly target: string;
  readonly met: boolean | null;
}

const rows: Row[] = [];
const warnings: string[] = [];
function row(scenario: string, metric: string, value: string, target = "", met: boolean | null = null): void {
  rows.push({ scenario, metric, value, target, met });
}

/** Notes a phase during which other processes used ≥ 10% of a core: its figures are disturbed. */
function quiet(phase: string, otherCpuPercent: number | null): void {
  if (otherCpuPercent !== null && otherCpuPercent >= 10) {
    warnings.push(
      `other processes used ${otherCpuPercent.toFixed(1)}% of a core during "${phase}": the machine was not quiet`,
    );
  }
}

function fmt(value: number, unit = ""): string {
  if (!Number.isFinite(value)) return "n/a";
  const v = round(value);
  return `${v.toLocaleString("en-US")}${unit}`;
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function httpScenario(root: string): Promise<{ c1: LoadResult; c32: LoadResult; profile: string | null }> {
  const dir = join(root, "http");
  mkdirSync(dir, { recursive: true });
  const config = await writeBenchConfig(dir, join(dir, "data"));
  const profileDir = join(dir, "profile");
  const nodeArgs = PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  const child: ChildBroker = await startChildBroker(config, { nodeArgs });
  let c1: LoadResult;
  let c32: LoadResult;
  try {
    const load = (concurrency: number, maxRequests: number, maxMs: number) =>
      runLoad({
        url: config.url,
        apiKey: config.apiKey,
        entitlement: ENTITLEMENT,
        concurrency,
        maxRequests,
        maxMs,
        brokerPid: child.pid,
      });
    log(`broker child ready in ${round(child.readyMs)} ms; warming up`);
    const warm = await load(32, 6000, 2000);
    if (warm.credentials === 0) throw new Error(`warm-up issued no credential: ${warm.firstError ?? "?"}`);
    log(`warm-up: ${round(warm.credentialsPerSecond)} credentials/s; measuring concurrency 1`);
    c1 = await load(1, 20_000, 3000);
    log(`concurrency 1: ${round(c1.credentialsPerSecond)}/s; measuring concurrency 32`);
    c32 = await load(32, 100_000, 3000);
    log(`concurrency 32: ${round(c32.credentialsPerSecond)}/s`);
  } finally {
    await child.stop();
  }
  // The child writes its profile when it exits; it covers start-up, warm-up and both measured runs.
  let profile: string | null = null;
  if (PROFILE) {
    const file = latestProfile(profileDir);
    profile = file === null ? "no CPU profile was written" : formatProfile(summarizeProfile(file));
    if (file !== null) log(`CPU profile: ${file}${KEEP ? "" : " (removed at the end; --keep keeps it)"}`);
  }
  return { c1, c32, profile };
}

async function restartTimes(config: Awaited<ReturnType<typeof writeBenchConfig>>, trials: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < trials; i++) {
    const child = await startChildBroker(config, { pollMs: 20 });
    times.push(child.readyMs);
    await child.stop();
  }
  return times;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}

function printTable(): void {
  const headers = ["scenario", "figure", "value", "target", "met"];
  const cells = rows.map((r) => [r.scenario, r.metric, r.value, r.target, r.met === null ? "" : r.met ? "yes" : "NO"]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => (i === 2 ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  const out = [line(headers), widths.map((w) => "-".repeat(w)).join("  ")];
  let last = "";
  for (const c of cells) {
    const scenario = c[0] === last ? "" : (c[0] ?? "");
    last = c[0] ?? "";
    out.push(line([scenario, ...c.slice(1)]));
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

function loadRows(name: string, r: LoadResult, withTarget: boolean): void {
  row(
    name,
    "credentials/s",
    fmt(r.credentialsPerSecond),
    withTarget ? `≥ ${TARGETS.credentialsPerSecondAt32.toLocaleString("en-US")}` : "",
    withTarget ? r.credentialsPerSecond >= TARGETS.credentialsPerSecondAt32 : null,
  );
  row(name, "latency p50", fmt(r.latency.p50, " ms"));
  row(name, "latency p99", fmt(r.latency.p99, " ms"), `≤ ${TARGETS.p99Ms} ms`, r.latency.p99 <= TARGETS.p99Ms);
  row(name, "latency max", fmt(r.latency.max, " ms"));
  const pct = (v: number | null) => (v === null ? "n/a" : `${v.toFixed(1)}%`);
  row(
    name,
    "CPU: broker / load gen / other",
    `${pct(r.brokerCpuPercent)} / ${pct(r.clientCpuPercent)} / ${pct(r.otherCpuPercent)}`,
  );
  quiet(name, r.otherCpuPercent);
  const errs = Object.entries(r.errors)
    .map(([k, v]) => `${k}×${v}`)
    .join(" ");
  row(
    name,
    "credentials / errors",
    `${r.credentials} / ${r.errorCount}${errs ? ` (${errs})` : ""}`,
    "0 errors",
    r.errorCount === 0,
  );
}

/** Steps 1–4: the broker itself (HTTP issue, raw floor, expiry, restart). Adds its rows; returns its JSON and notes. */
async function brokerSections(root: string): Promise<{ json: Record<string, unknown>; after: string[] }> {
  log("1/8 token issue over HTTP (broker child process)");
  const http = await httpScenario(root);

  log("2/8 raw floor: one Ed25519 JWT signed as the broker does + one durable SQLite insert");
  const floorDir = join(root, "floor");
  mkdirSync(floorDir);
  const floorRun = await withOtherCpu(() => runFloor(floorDir, { maxMs: 2000, maxOps: 50_000 }));
  const floor: FloorResult = floorRun.result;
  quiet("raw floor", floorRun.otherCpuPercent);

  log("3/8 expiry lag with 100,000 active grants (in process)");
  const expiryDir = join(root, "expiry");
  mkdirSync(expiryDir);
  const expiryConfig = await writeBenchConfig(expiryDir, join(expiryDir, "data"), "1s");
  const expiryRun = await withOtherCpu(() =>
    runExpiry({
      document: expiryConfig.document,
      cwd: REPO_ROOT,
      expiring: 20_000,
      longLived: 80_000,
      windowMs: 15_000,
      leadMs: 3000,
      drainTimeoutMs: 60_000,
    }),
  );
  const expiry: ExpiryResult = expiryRun.result;
  quiet("expiry", expiryRun.otherCpuPercent);
  log(`expiry: ${expiry.verified}/${expiry.expiring} verified, lag p99 ${round(expiry.lag.p99)} ms`);

  log("4/8 restart to ready (CLI child process)");
  const restartFull = await restartTimes(expiryConfig, 3);
  const emptyTimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const dir = join(root, `empty-${i}`);
    mkdirSync(dir);
    emptyTimes.push(...(await restartTimes(await writeBenchConfig(dir, join(dir, "data")), 1)));
  }

  const throughputRatio = http.c32.credentialsPerSecond / floor.opsPerSecond;
  const latencyRatio = http.c1.latency.p50 / floor.latency.p50;
  const restartMedian = median(restartFull);
  const emptyMedian = median(emptyTimes);

  loadRows("issue over HTTP, c=1", http.c1, false);
  loadRows("issue over HTTP, c=32", http.c32, true);
  row("raw floor (sign + fsync)", "ops/s", fmt(floor.opsPerSecond));
  row("raw floor (sign + fsync)", "latency p50 / p99", `${fmt(floor.latency.p50)} / ${fmt(floor.latency.p99, " ms")}`);
  row("raw floor (sign + fsync)", "sign p50 / insert p50", `${fmt(floor.signP50)} / ${fmt(floor.insertP50, " ms")}`);
  row(
    "broker ÷ floor",
    "cred/s at 32 ÷ floor ops/s",
    fmt(throughputRatio),
    `≥ ${TARGETS.floorRatio}`,
    throughputRatio >= TARGETS.floorRatio,
  );
  row("broker ÷ floor", "p50 at c=1 ÷ floor p50", fmt(latencyRatio));
  const ex = "expiry, 100k active grants";
  row(ex, "seeded grants / time", `${expiry.seeded.toLocaleString("en-US")} / ${fmt(expiry.seedMs / 1000, " s")}`);
  row(
    ex,
    "verified in window",
    `${expiry.verified.toLocaleString("en-US")} / ${expiry.expiring.toLocaleString("en-US")} in ${fmt(expiry.windowMs / 1000, " s")}`,
    "all",
    expiry.completed,
  );
  row(ex, "lag p50 (verifiedAt − expiresAt)", fmt(expiry.lag.p50, " ms"));
  row(
    ex,
    "lag p99",
    fmt(expiry.lag.p99, " ms"),
    `≤ ${TARGETS.expiryLagP99Ms} ms`,
    expiry.lag.p99 <= TARGETS.expiryLagP99Ms,
  );
  row(ex, "lag max", fmt(expiry.lag.max, " ms"));
  row(ex, "pickup lag p99 (endedAt)", fmt(expiry.pickupLag.p99, " ms"));
  row(ex, "still active after", (expiry.states.active ?? 0).toLocaleString("en-US"));
  row(
    "restart to /readyz 200",
    "100k grants (median of 3)",
    `${fmt(restartMedian, " ms")} [${restartFull.map((t) => round(t)).join(", ")}]`,
    `≤ ${TARGETS.restartReadyMs} ms`,
    restartMedian <= TARGETS.restartReadyMs,
  );
  row(
    "restart to /readyz 200",
    "empty data dir (median of 3)",
    `${fmt(emptyMedian, " ms")} [${emptyTimes.map((t) => round(t)).join(", ")}]`,
  );

  const after: string[] = [];
  for (const r of [http.c1, http.c32]) {
    if (r.firstError !== null) after.push(`first error at c=${r.concurrency}: ${r.firstError}`);
  }
  const json = {
    http: Object.fromEntries(
      [http.c1, http.c32].map((r) => [
        `c${r.concurrency}`,
        {
          credentialsPerSecond: round(r.credentialsPerSecond),
          p50Ms: round(r.latency.p50),
          p99Ms: round(r.latency.p99),
          maxMs: round(r.latency.max),
          credentials: r.credentials,
          errors: r.errorCount,
          brokerCpuPercent: r.brokerCpuPercent === null ? null : round(r.brokerCpuPercent),
          clientCpuPercent: round(r.clientCpuPercent),
          otherCpuPercent: r.otherCpuPercent === null ? null : round(r.otherCpuPercent),
        },
      ]),
    ),
    floor: {
      opsPerSecond: round(floor.opsPerSecond),
      p50Ms: round(floor.latency.p50),
      p99Ms: round(floor.latency.p99),
      signP50Ms: round(floor.signP50),
      insertP50Ms: round(floor.insertP50),
    },
    ratios: { throughputAt32OverFloor: round(throughputRatio), p50AtC1OverFloorP50: round(latencyRatio) },
    expiry: {
      seeded: expiry.seeded,
      seedMs: round(expiry.seedMs),
      expiring: expiry.expiring,
      verified: expiry.verified,
      windowMs: expiry.windowMs,
      lagP50Ms: round(expiry.lag.p50),
      lagP99Ms: round(expiry.lag.p99),
      lagMaxMs: round(expiry.lag.max),
      pickupP99Ms: round(expiry.pickupLag.p99),
      drainAfterWindowMs: round(expiry.drainAfterWindowMs),
      states: expiry.states,
    },
    restart: {
      fullMedianMs: round(restartMedian),
      fullMs: restartFull.map(round),
      emptyMedianMs: round(emptyMedian),
      emptyMs: emptyTimes.map(round),
    },
  };
  if (http.profile !== null) after.push(http.profile);
  return { json, after };
}

/** Workload-JWT authentication beside a bare jose verify of the same tokens (p50, p99, ratio). */
async function jwtSection(): Promise<Record<string, unknown>[]> {
  log(`${JWT_ONLY ? "jwt only" : "5/8"}: workload JWT through the OIDC authenticator beside a bare jose jwtVerify`);
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

/** Step 7: the PostgreSQL store with 1,000,000 grants. Adds its rows; returns its JSON. */
async function postgresSection(root: string): Promise<Record<string, unknown>> {
  log(
    `${POSTGRES_ONLY ? "PostgreSQL only" : "8/8"}: the PostgreSQL store with 1,000,000 grants (${STORE_URL.replace(/:[^:@/]*@/, ":…@")})`,
  );
  const scenario = "PostgreSQL, 1M grants (100k active)";
  let result: PostgresBenchResult;
  try {
    const run = await withOtherCpu(() =>
      runPostgresBench(
        {
          url: STORE_URL,
          total: 1_000_000,
          active: 100_000,
          expiring: PG_EXPIRING,
          windowMs: PG_WINDOW_MS,
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

/** An MCP tool call until the credential is in the sink (tmpfs and disk), beside the plain HTTP request, interleaved. */
async function mcpSection(root: string): Promise<Record<string, unknown>> {
  log(
    `${MCP_ONLY ? "mcp only" : "mcp"}: request_access over stdio → credential in the sink, beside the plain HTTP request`,
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
async function abuseSection(root: string): Promise<Record<string, unknown>> {
  log(`${ABUSE_ONLY ? "abuse only" : "abuse"}: a workload's requests with and without a flood of bad API keys`);
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

/** Policy decisions: the broker's Cedar decider beside raw preparsed cedar-wasm on the whole set, same request. */
async function policySection(): Promise<Record<string, unknown>> {
  log(`${POLICY_ONLY ? "policy only" : "6/8"}: Cedar decider (sliced) beside raw preparsed cedar-wasm (whole set)`);
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

/** `ephemera agent`: what an app sees while its credential rotates, and what the agent costs when idle. */
async function agentSection(root: string): Promise<Record<string, unknown>> {
  log(
    `${AGENT_ONLY ? "agent only" : "agent"}: rotation gap under a live PostgreSQL app; idle agent with 10 credentials`,
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

async function main(): Promise<void> {
  const started = Date.now();
  const loadStart = loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  const root = mkdtempSync(join(tmpdir(), "ephemera-bench-"));
  try {
    const broker = runs(BROKER_ONLY) ? await brokerSections(root) : { json: {}, after: [] };
    const jwt = runs(JWT_ONLY) ? await jwtSection() : [];
    const policy = runs(POLICY_ONLY) ? await policySection() : {};
    const mcp = runs(MCP_ONLY) ? await mcpSection(root) : {};
    const abuse = runs(ABUSE_ONLY) ? await abuseSection(root) : {};
    const agent = runs(AGENT_ONLY) ? await agentSection(root) : {};
    const connectors = runs(CONNECTORS_ONLY)
      ? await (async () => {
          log(
            `${CONNECTORS_ONLY ? "connectors only" : "7/8"}: each connector's issue and proven removal beside the raw statements`,
          );
          return runConnectorBenches({
            log,
            ...(CONNECTOR_ITERATIONS === undefined ? {} : { iterations: CONNECTOR_ITERATIONS }),
          });
        })()
      : { rows: [], warnings: [], notes: [], json: {} };
    rows.push(...connectors.rows);
    warnings.push(...connectors.warnings);
    const postgres = runs(POSTGRES_ONLY) ? await postgresSection(root) : null;

    const loadEnd = loadavg()
      .map((l) => l.toFixed(2))
      .join(" ");
    process.stdout.write(
      `\nEphemera bench${CONNECTORS_ONLY ? " (connectors only)" : POSTGRES_ONLY ? " (PostgreSQL store only)" : JWT_ONLY ? " (workload JWT only)" : MCP_ONLY ? " (MCP only)" : AGENT_ONLY ? " (agent only)" : ABUSE_ONLY ? " (abuse only)" : ""}: node ${process.version}, ${cpus().length} CPUs, ${round(totalmem() / 2 ** 30)} GiB, load average at start ${loadStart}, at end ${loadEnd}, ${round((Date.now() - started) / 1000)} s\n\n`,
    );
    printTable();
    if (connectors.notes.length > 0) {
      process.stdout.write(`\nraw baselines (one admin connection, no proof of removal):\n`);
      for (const n of connectors.notes) process.stdout.write(`  ${n}\n`);
    }
    for (const a of broker.after) process.stdout.write(`\n${a}\n`);
    for (const w of warnings) process.stdout.write(`\nwarning: ${w}\n`);

    const machine = {
      node: process.version,
      cpus: cpus().length,
      ...broker.json,
      workloadJwt: jwt,
      policy,
      mcp,
      abuse,
      ...agent,
      connectors: connectors.json,
      ...(postgres === null ? {} : { postgres }),
      targetsMet: Object.fromEntries(
        rows.filter((r) => r.met !== null).map((r) => [`${r.scenario}: ${r.metric}`, r.met]),
      ),
      loadAverageAtStart: loadStart,
      loadAverageAtEnd: loadEnd,
      warnings,
      totalSeconds: round((Date.now() - started) / 1000),
    };
    process.stdout.write(`\nbench: ${JSON.stringify(machine)}\n`);
  } finally {
    if (KEEP) log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}

await main();
