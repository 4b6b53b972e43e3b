// The per-connector section of `npm run bench`: each connector's issue and proven removal beside the raw statements
// an operator would type, one connector after another, a server that is down reported as such instead of a crash.
import { readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { performance } from "node:perf_hooks";
import { round, summarize } from "../stats.js";
import { runHttpBench } from "./http.js";
import { runMariadbBench } from "./mariadb.js";
import { runPostgresBench } from "./postgres.js";
import { runRabbitmqBench } from "./rabbitmq.js";
import { runRedisBench } from "./redis.js";
import type { ConnectorBench } from "./types.js";

/** One line of the bench table (the shape bench/run.ts prints). */
export interface ConnectorRow {
  readonly scenario: string;
  readonly metric: string;
  readonly value: string;
  readonly target: string;
  readonly met: boolean | null;
}

interface Plan {
  readonly name: string;
  /** Measured iterations (after the warm-up ones, which are run and discarded). */
  readonly iterations: number;
  readonly run: (iterations: number) => Promise<ConnectorBench>;
  /** Process names (`/proc/<pid>/comm`) of the server, so its CPU is not counted as a disturbance. */
  readonly server: readonly string[];
  /** The server's endpoints, read from the same settings (and defaults) as the connector's bench module. */
  readonly endpoints: () => readonly string[];
}

const env = (name: string, fallback: string): string => process.env[name] ?? fallback;

const PLANS: readonly Plan[] = [
  {
    name: "postgres",
    iterations: 200,
    run: runPostgresBench,
    server: ["postgres"],
    endpoints: () => [env("EPHEMERA_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/test")],
  },
  {
    name: "mariadb",
    iterations: 200,
    run: runMariadbBench,
    server: ["mariadbd"],
    endpoints: () => [env("EPHEMERA_BENCH_MARIADB_URL", "mysql://root@127.0.0.1:3306")],
  },
  {
    name: "redis",
    iterations: 1000,
    run: runRedisBench,
    server: ["redis-server"],
    endpoints: () => [env("EPHEMERA_BENCH_REDIS_URL", "redis://127.0.0.1:6379")],
  },
  {
    name: "rabbitmq",
    iterations: 200,
    run: runRabbitmqBench,
    server: ["beam.smp", "epmd", "erl_child_setup", "inet_gethost"],
    endpoints: () => [
      env("EPHEMERA_BENCH_RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672"),
      env("EPHEMERA_BENCH_RABBITMQ_AMQP_URL", "amqp://127.0.0.1:5672"),
    ],
  },
  // Against the in-process ticketing service: nothing to reach beforehand.
  { name: "http", iterations: 1000, run: runHttpBench, server: [], endpoints: () => [] },
];

const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  "postgres:": 5432,
  "mysql:": 3306,
  "redis:": 6379,
  "amqp:": 5672,
  "http:": 80,
  "https:": 443,
};

/** Rejects with a short reason when a TCP connection to the URL's host and port is not accepted within 3 s. */
function reachable(endpoint: string): Promise<void> {
  const url = new URL(endpoint);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = url.port === "" ? (DEFAULT_PORTS[url.protocol] ?? 0) : Number(url.port);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const fail = (reason: string) => {
      socket.destroy();
      reject(new Error(`${url.protocol}//${url.host} is not reachable (${reason})`));
    };
    socket.setTimeout(3000, () => fail("no answer in 3 s"));
    socket.once("error", (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
  });
}

/**
 * `work`, or a rejection once `ms` have passed: a bench whose server stops answering mid-run (or whose driver leaves
 * a promise pending with nothing left in the event loop) becomes a "not measured" row instead of a hang or exit 13.
 */
async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish within ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Iterations run first and dropped from every series: connection set-up, JIT and server caches. */
const WARMUP = 5;

export const TARGETS = {
  /** PostgreSQL issue p50 ≤ raw CREATE ROLE … IN ROLE (CREATE ROLE + GRANT) p50 + 2 ms. */
  postgresIssueOverRawMs: 2,
  /** PostgreSQL removal p50 ≤ 2 × raw NOLOGIN + terminate + DROP ROLE p50 (also in bench/targets.json, for --check). */
  postgresRemovalRatio: 2,
  /** Stretch: PostgreSQL issue p50 below 3 ms. */
  postgresIssueStretchMs: 3,
} as const;

export interface SeriesJson {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export type ConnectorJson =
  | {
      readonly iterations: number;
      readonly warmup: number;
      readonly seconds: number;
      readonly otherCpuPercent: number | null;
      readonly serverCpuPercent: number | null;
      readonly stealCpuPercent: number | null;
      readonly issue: SeriesJson;
      readonly rawIssue: SeriesJson & { readonly label: string };
      readonly issueMinusRawP50Ms: number;
      readonly issueOverRawP50: number;
      readonly removal: SeriesJson;
      readonly rawRemoval: SeriesJson & { readonly label: string };
      readonly removalOverRawP50: number;
      readonly extra: Readonly<Record<string, SeriesJson>>;
    }
  | { readonly error: string; readonly seconds: number };

export interface ConnectorsResult {
  readonly rows: readonly ConnectorRow[];
  readonly json: Readonly<Record<string, ConnectorJson>>;
  /** Raw baselines by connector, printed under the table (too long for a column). */
  readonly notes: readonly string[];
  /** Connectors whose bench ran while other processes used ≥ 10 % of a core, or that failed. */
  readonly warnings: readonly string[];
}

export interface ConnectorsOptions {
  /** Measured iterations for every connector, instead of each one's default. */
  readonly iterations?: number;
  readonly log?: (message: string) => void;
}

function ms(value: number): string {
  return Number.isFinite(value) ? `${round(value).toLocaleString("en-US")}` : "n/a";
}

function pair(s: SeriesJson): string {
  return `${ms(s.p50Ms)} / ${ms(s.p99Ms)} ms`;
}

function series(samples: readonly number[]): SeriesJson {
  const s = summarize(samples.slice(WARMUP));
  return { count: s.count, p50Ms: round(s.p50), p99Ms: round(s.p99), maxMs: round(s.max) };
}

/**
 * The machine's CPU time in ms from /proc/stat (all cores): `busy` = user + nice + system + irq, the time processes
 * are charged with; `steal` = time the hypervisor gave to someone else. Softirq (loopback traffic the bench itself
 * makes) and idle are left out. Null off Linux.
 */
function machineTimes(): { busy: number; steal: number } | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
    const t = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const at = (i: number) => t[i] ?? 0;
    return { busy: (at(0) + at(1) + at(2) + at(5)) * 10, steal: at(7) * 10 };
  } catch {
    return null;
  }
}

/** utime + stime + cutime + cstime in ms of every process whose name is in `names` (reaped children included). */
function serverCpuMs(names: readonly string[]): number | null {
  if (names.length === 0) return 0;
  let total = 0;
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        if (!names.includes(name)) continue;
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        total += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
      } catch {
        // The process ended between the listing and the read.
      }
    }
  } catch {
    return null;
  }
  return total;
}

interface Measured<T> {
  readonly result: T;
  readonly elapsedMs: number;
  /** CPU the server used, % of a core. */
  readonly serverPercent: number | null;
  /** CPU everything else (neither this process nor the server) used, % of a core. */
  readonly otherPercent: number | null;
  /** CPU time the hypervisor took (steal), % of a core. */
  readonly stealPercent: number | null;
}

async function measured<T>(server: readonly string[], work: () => Promise<T>): Promise<Measured<T>> {
  const machine0 = machineTimes();
  const server0 = serverCpuMs(server);
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await work();
  const elapsedMs = performance.now() - t0;
  const self = process.cpuUsage(self0);
  const machine1 = machineTimes();
  const server1 = serverCpuMs(server);
  const serverMs = server0 === null || server1 === null ? null : Math.max(0, server1 - server0);
  const serverPercent = serverMs === null ? null : (serverMs / elapsedMs) * 100;
  if (machine0 === null || machine1 === null || serverMs === null) {
    return { result, elapsedMs, serverPercent, otherPercent: null, stealPercent: null };
  }
  const other = Math.max(0, machine1.busy - machine0.busy - (self.user + self.system) / 1000 - serverMs);
  return {
    result,
    elapsedMs,
    serverPercent,
    otherPercent: (other / elapsedMs) * 100,
    stealPercent: ((machine1.steal - machine0.steal) / elapsedMs) * 100,
  };
}

function messageOf(error: unknown): string {
  // A refused connection to "localhost" can be an AggregateError (IPv6 and IPv4) with an empty message.
  if (error instanceof AggregateError && error.message === "" && error.errors.length > 0) {
    return messageOf(error.errors[0]);
  }
  const text = error instanceof Error ? error.message || error.name : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const withCode = typeof code === "string" && !text.includes(code) ? `${code} ${text}` : text;
  return withCode.replace(/\s+/g, " ").slice(0, 140);
}

/** Runs every connector's bench in turn and returns its rows, JSON and notes. */
export async function runConnectorBenches(options: ConnectorsOptions = {}): Promise<ConnectorsResult> {
  const log = options.log ?? (() => {});
  const rows: ConnectorRow[] = [];
  const json: Record<string, ConnectorJson> = {};
  const notes: string[] = [];
  const warnings: string[] = [];
  const row = (scenario: string, metric: string, value: string, target = "", met: boolean | null = null) =>
    rows.push({ scenario, metric, value, target, met });

  for (const plan of PLANS) {
    const iterations = options.iterations ?? plan.iterations;
    const scenario = `connector: ${plan.name}`;
    log(`connector ${plan.name}: ${WARMUP} warm-up + ${iterations} iterations`);
    const t0 = performance.now();
    let run: Measured<ConnectorBench>;
    try {
      for (const endpoint of plan.endpoints()) await reachable(endpoint);
      const limitMs = Math.max(120_000, (WARMUP + iterations) * 500);
      run = await measured(plan.server, () => within(limitMs, plan.run(WARMUP + iterations)));
    } catch (error) {
      const message = messageOf(error);
      const seconds = round((performance.now() - t0) / 1000);
      log(`connector ${plan.name} failed: ${message}`);
      row(scenario, "bench", `not measured: ${message}`, "runs", false);
      json[plan.name] = { error: message, seconds };
      warnings.push(`connector ${plan.name} was not measured: ${message}`);
      continue;
    }
    const b = run.result;
    const issue = series(b.issue);
    const rawIssue = { label: b.rawIssueLabel, ...series(b.rawIssue) };
    const removal = series(b.removal);
    const rawRemoval = { label: b.rawRemovalLabel, ...series(b.rawRemoval) };
    const issueMinusRaw = issue.p50Ms - rawIssue.p50Ms;
    const issueRatio = issue.p50Ms / rawIssue.p50Ms;
    const removalRatio = removal.p50Ms / rawRemoval.p50Ms;
    const extra = Object.fromEntries(Object.entries(b.extra ?? {}).map(([name, samples]) => [name, series(samples)]));
    const isPg = plan.name === "postgres";

    row(scenario, "issue p50 / p99", pair(issue));
    row(scenario, "raw issue p50 / p99 (see below)", pair(rawIssue));
    row(
      scenario,
      "issue p50 − raw p50 (ratio)",
      `${issueMinusRaw >= 0 ? "+" : ""}${ms(issueMinusRaw)} ms (${ms(issueRatio)}×)`,
      isPg ? `≤ +${TARGETS.postgresIssueOverRawMs} ms` : "",
      isPg ? issueMinusRaw <= TARGETS.postgresIssueOverRawMs : null,
    );
    if (isPg) {
      row(
        scenario,
        "stretch: issue p50",
        `${ms(issue.p50Ms)} ms`,
        `< ${TARGETS.postgresIssueStretchMs} ms`,
        issue.p50Ms < TARGETS.postgresIssueStretchMs,
      );
    }
    row(scenario, "removal p50 / p99 (revoke + verify)", pair(removal));
    row(scenario, "raw removal p50 / p99 (see below)", pair(rawRemoval));
    row(
      scenario,
      "removal p50 ÷ raw removal p50",
      `${ms(removalRatio)}×`,
      isPg ? `≤ ${TARGETS.postgresRemovalRatio}×` : "",
      isPg ? removalRatio <= TARGETS.postgresRemovalRatio : null,
    );
    for (const [name, s] of Object.entries(extra)) {
      row(scenario, `${name} p50 / p99`, pair(s));
    }
    const pct = (v: number | null) => (v === null ? "n/a" : `${v.toFixed(1)}%`);
    row(
      scenario,
      "time / CPU: server / other / steal",
      `${ms(run.elapsedMs / 1000)} s / ${pct(run.serverPercent)} / ${pct(run.otherPercent)} / ${pct(run.stealPercent)}`,
    );
    if (run.otherPercent !== null && run.otherPercent >= 10) {
      warnings.push(
        `other processes used ${run.otherPercent.toFixed(1)}% of a core during "connector ${plan.name}": the machine was not quiet`,
      );
    }
    notes.push(`${plan.name}: raw issue = ${b.rawIssueLabel}`, `${plan.name}: raw removal = ${b.rawRemovalLabel}`);
    json[plan.name] = {
      iterations,
      warmup: WARMUP,
      seconds: round(run.elapsedMs / 1000),
      otherCpuPercent: run.otherPercent === null ? null : round(run.otherPercent),
      serverCpuPercent: run.serverPercent === null ? null : round(run.serverPercent),
      stealCpuPercent: run.stealPercent === null ? null : round(run.stealPercent),
      issue,
      rawIssue,
      issueMinusRawP50Ms: round(issueMinusRaw),
      issueOverRawP50: round(issueRatio),
      removal,
      rawRemoval,
      removalOverRawP50: round(removalRatio),
      extra,
    };
    log(
      `connector ${plan.name}: issue p50 ${ms(issue.p50Ms)} ms (raw ${ms(rawIssue.p50Ms)}), removal p50 ${ms(removal.p50Ms)} ms (raw ${ms(rawRemoval.p50Ms)})`,
    );
  }
  return { rows, json, notes, warnings };
}
