// `ephemera agent` in the bench: the rotation gap an app sees (a process querying PostgreSQL every 50 ms through the
// agent's sink, reconnecting on SIGHUP, while its grant rotates every ~2 s) and the agent's idle memory and CPU while
// it holds 10 credentials. Both run the real CLI against a broker child process.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { stringify } from "yaml";
import { ENTITLEMENT, startChildBroker, writeBenchConfig } from "./broker-process.js";
import { processCpuMs } from "./cpu.js";
import { CLI, REPO_ROOT } from "./library.js";
import { sleep, summarize } from "./stats.js";

const APP = join(REPO_ROOT, "test", "fixtures", "agent-app.mjs");
const PG = { host: "127.0.0.1", port: 5432, user: "postgres", database: "test" } as const;

export interface AgentBenchResult {
  readonly rotations: number;
  readonly ops: number;
  readonly failedOps: number;
  /** Operation latency (from when it was due) outside and within 1 s after each rotation's SIGHUP. */
  readonly steady: { readonly p50: number; readonly p99: number; readonly count: number };
  readonly rotating: { readonly p50: number; readonly p99: number; readonly count: number };
  readonly extraP99Ms: number;
  readonly idle: {
    readonly credentials: number;
    readonly rssMiB: number;
    readonly cpuPercent: number;
    readonly seconds: number;
  };
}

async function sql(text: string): Promise<void> {
  const client = new pg.Client(PG);
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

function spawnAgent(config: string, command: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(
    process.execPath,
    [CLI, "agent", "--config", config, ...(command.length > 0 ? ["--", ...command] : [])],
    {
      cwd: REPO_ROOT,
      env,
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await Promise.race([exited, sleep(20_000).then(() => child.kill("SIGKILL"))]);
}

async function waitFor(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`agent bench: timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** `seconds` of rotation under the app, then `idleSeconds` of an idle agent holding `credentials` token grants. */
export async function runAgentBench(
  root: string,
  options: { seconds?: number; idleSeconds?: number; credentials?: number } = {},
): Promise<AgentBenchResult> {
  const seconds = options.seconds ?? 30;
  const idleSeconds = options.idleSeconds ?? 30;
  const credentials = options.credentials ?? 10;
  const suffix = Math.random().toString(36).slice(2, 8);
  const prefix = `eph_b${suffix}_`;
  const role = `eph_bench_agent_${suffix}`;
  await sql(`CREATE ROLE ${role} NOLOGIN`);
  const config = await writeBenchConfig(root, join(root, "agent-data"), "1s", {
    targets: {
      "bench-api": {
        type: "token",
        audience: "https://bench-api.test",
        entitlements: { read: { scopes: ["bench.read"], defaultDuration: "1h", maxDuration: "1h" } },
      },
      "bench-orders": {
        type: "postgres",
        url: "postgres://postgres@127.0.0.1:5432/test",
        prefix,
        entitlements: { read: { roles: [role], defaultDuration: "4s", maxDuration: "4s" } },
      },
    },
    access: [{ groups: ["bench"], entitlements: [ENTITLEMENT, "bench-orders/read"] }],
  });
  const broker = await startChildBroker(config);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, BENCH_AGENT_KEY: config.apiKey };
  const agentDoc = (creds: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    broker: { url: config.url },
    auth: { type: "api-key", key: { env: "BENCH_AGENT_KEY" } },
    credentials: creds,
    logging: { level: "warn" },
    ...extra,
  });
  try {
    // Rotation under a live app.
    const sink = join(root, "orders.json");
    const report = join(root, "app-report.json");
    const rotationConfig = join(root, "agent-rotation.yaml");
    writeFileSync(
      rotationConfig,
      stringify(
        agentDoc(
          {
            orders: {
              entitlement: "bench-orders/read",
              sink: { path: sink, format: "json" },
              onChange: { signal: "SIGHUP" },
            },
          },
          { renewal: { grace: "1s", jitter: 0 } },
        ),
      ),
    );
    const rotating = spawnAgent(rotationConfig, [process.execPath, APP, sink, "-", report, "50"], env);
    await waitFor("the app to start", () => existsSync(`${report}.ready`));
    await sleep(seconds * 1000);
    await stop(rotating);
    await waitFor("the app's report", () => existsSync(report), 20_000);
    const stats = JSON.parse(readFileSync(report, "utf8")) as {
      ops: number;
      failed: number;
      hupAt: number[];
      samples: [number, number][];
    };
    const during = (t: number) => stats.hupAt.some((h) => t >= h && t < h + 1_000);
    const steady = summarize(stats.samples.filter(([t]) => !during(t)).map(([, ms]) => ms));
    const rotatingLatency = summarize(stats.samples.filter(([t]) => during(t)).map(([, ms]) => ms));

    // Idle with N credentials.
    const idleConfig = join(root, "agent-idle.yaml");
    const creds: Record<string, unknown> = {};
    for (let i = 0; i < credentials; i++) {
      creds[`api-${i}`] = { entitlement: ENTITLEMENT, sink: { path: join(root, `api-${i}.env`) } };
    }
    writeFileSync(idleConfig, stringify(agentDoc(creds)));
    const idle = spawnAgent(idleConfig, [], env);
    await waitFor("every idle sink", () => Object.keys(creds).every((_, i) => existsSync(join(root, `api-${i}.env`))));
    await sleep(2_000); // let start-up settle
    const cpu0 = processCpuMs(idle.pid ?? 0) ?? 0;
    const t0 = Date.now();
    await sleep(idleSeconds * 1000);
    const cpu1 = processCpuMs(idle.pid ?? 0) ?? 0;
    const elapsed = Date.now() - t0;
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${idle.pid}/status`, "utf8"))?.[1] ?? 0);
    await stop(idle);

    return {
      rotations: stats.hupAt.length,
      ops: stats.ops,
      failedOps: stats.failed,
      steady: { p50: steady.p50, p99: steady.p99, count: steady.count },
      rotating: { p50: rotatingLatency.p50, p99: rotatingLatency.p99, count: rotatingLatency.count },
      extraP99Ms: Math.max(0, rotatingLatency.p99 - steady.p99),
      idle: {
        credentials,
        rssMiB: rssKiB / 1024,
        cpuPercent: ((cpu1 - cpu0) / elapsed) * 100,
        seconds: elapsed / 1000,
      },
    };
  } finally {
    await broker.stop();
    const client = new pg.Client(PG);
    await client.connect();
    try {
      const roles = await client.query<{ rolname: string }>(
        "SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)",
        [prefix],
      );
      for (const { rolname } of roles.rows) await client.query(`DROP ROLE IF EXISTS "${rolname}"`);
      await client.query(`DROP ROLE IF EXISTS ${role}`);
    } finally {
      await client.end();
    }
  }
}
