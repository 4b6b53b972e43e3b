// Steps 1–4 of the bench, the broker itself: credential issue over HTTP, the raw sign+fsync floor, expiry lag and restart.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type ChildBroker, ENTITLEMENT, startChildBroker, writeBenchConfig } from "./broker-process.js";
import { withOtherCpu } from "./cpu.js";
import { type ExpiryResult, runExpiry } from "./expiry.js";
import { type FloorResult, runFloor } from "./floor.js";
import { type LoadResult, runLoad } from "./http-load.js";
import { REPO_ROOT } from "./library.js";
import { formatLoopDelay, type LoopDelay, loopDelayBetween, scrapeMetrics } from "./loop-delay.js";
import type { BenchOptions } from "./options.js";
import { formatProfile, profilesIn, summarizeProfile } from "./profile.js";
import { fmt, log, quiet, row, TARGETS } from "./report.js";
import { median, round } from "./stats.js";

async function httpScenario(
  root: string,
  options: Pick<BenchOptions, "profile" | "keep">,
): Promise<{ c1: LoadResult; c32: LoadResult; c1Loop: LoopDelay; c32Loop: LoopDelay; profile: string | null }> {
  const dir = join(root, "http");
  mkdirSync(dir, { recursive: true });
  const config = await writeBenchConfig(dir, join(dir, "data"));
  const profileDir = join(dir, "profile");
  const nodeArgs = options.profile ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  const child: ChildBroker = await startChildBroker(config, { nodeArgs });
  let c1: LoadResult;
  let c32: LoadResult;
  let c1Loop: LoopDelay;
  let c32Loop: LoopDelay;
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
    /** A measured run with the broker's event-loop delay and GC time over exactly that run. */
    const measured = async (concurrency: number, maxRequests: number, maxMs: number) => {
      const before = await scrapeMetrics(config.url);
      const result = await load(concurrency, maxRequests, maxMs);
      const loop = loopDelayBetween(before, await scrapeMetrics(config.url));
      log(`concurrency ${concurrency}: ${formatLoopDelay(loop)}`);
      return { result, loop };
    };
    log(`broker child ready in ${round(child.readyMs)} ms; warming up`);
    const warm = await load(32, 6000, 2000);
    if (warm.credentials === 0) throw new Error(`warm-up issued no credential: ${warm.firstError ?? "?"}`);
    log(`warm-up: ${round(warm.credentialsPerSecond)} credentials/s; measuring concurrency 1`);
    ({ result: c1, loop: c1Loop } = await measured(1, 20_000, 3000));
    log(`concurrency 1: ${round(c1.credentialsPerSecond)}/s; measuring concurrency 32`);
    ({ result: c32, loop: c32Loop } = await measured(32, 100_000, 3000));
    log(`concurrency 32: ${round(c32.credentialsPerSecond)}/s`);
  } finally {
    await child.stop();
  }
  // The child writes a profile per thread when it exits; each covers start-up, warm-up and both measured runs.
  let profile: string | null = null;
  if (options.profile) {
    const files = profilesIn(profileDir);
    profile =
      files.length === 0
        ? "no CPU profile was written"
        : files.map((f) => formatProfile(summarizeProfile(f.file), f.thread)).join("\n\n");
    for (const f of files) {
      log(`CPU profile (${f.thread}): ${f.file}${options.keep ? "" : " (removed at the end; --keep keeps it)"}`);
    }
  }
  return { c1, c32, c1Loop, c32Loop, profile };
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

function loadRows(name: string, r: LoadResult, loop: LoopDelay, withTarget: boolean): void {
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
  row(name, "event-loop delay p99 / max", `${fmt(loop.p99Ms)} / ${fmt(loop.maxMs, " ms")}`);
  row(name, "GC time (major)", `${fmt(loop.gcMs)} ms in ${loop.gcCount} (${fmt(loop.majorGcMs, " ms")})`);
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
export async function brokerSections(
  root: string,
  options: Pick<BenchOptions, "profile" | "keep">,
): Promise<{ json: Record<string, unknown>; after: string[] }> {
  log("1/8 token issue over HTTP (broker child process)");
  const http = await httpScenario(root, options);

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

  loadRows("issue over HTTP, c=1", http.c1, http.c1Loop, false);
  loadRows("issue over HTTP, c=32", http.c32, http.c32Loop, true);
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
      (
        [
          [http.c1, http.c1Loop],
          [http.c32, http.c32Loop],
        ] as const
      ).map(([r, loop]) => [
        `c${r.concurrency}`,
        {
          loopDelayP99Ms: round(loop.p99Ms),
          loopDelayMaxMs: round(loop.maxMs),
          gcMs: round(loop.gcMs),
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
