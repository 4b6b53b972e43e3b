// Runs `ephemera server` (the real CLI) as a child process on 127.0.0.1 and times its way to GET /readyz 200.
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { stringify } from "yaml";
import { CLI, ephemera, REPO_ROOT } from "./library.js";
import { nowMs, sleep } from "./stats.js";

export const TARGET_ID = "bench-api";
export const ENTITLEMENT = `${TARGET_ID}/read`;
export const IDENTITY_ID = "bench-client";

export interface BenchConfig {
  /** The parsed YAML document: also fed to `buildConfig` for the in-process broker. */
  readonly document: Record<string, unknown>;
  readonly path: string;
  readonly url: string;
  /** The API key (secret) of the bench identity; only sent to 127.0.0.1. */
  readonly apiKey: string;
}

/** A port the kernel says is free now: listen on 0, read it, close. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error("no free port"))));
    });
  });
}

/** Writes `<dir>/ephemera.yaml`: one token target with one entitlement, one identity with a fresh API key, one rule. */
export async function writeBenchConfig(
  dir: string,
  dataDir: string,
  pollInterval = "1s",
  extra: Record<string, unknown> = {},
): Promise<BenchConfig> {
  const port = await freePort();
  const key = ephemera.generateApiKey();
  const listen = `127.0.0.1:${port}`;
  const document: Record<string, unknown> = {
    dataDir,
    server: { listen },
    logging: { level: "warn" },
    lifecycle: { pollInterval },
    identities: {
      [IDENTITY_ID]: {
        kind: "service_account",
        owner: "bench",
        groups: ["bench"],
        apiKeys: [{ id: key.keyId, hash: key.hash }],
      },
    },
    targets: {
      [TARGET_ID]: {
        type: "token",
        audience: "https://bench-api.test",
        entitlements: { read: { scopes: ["bench.read"], defaultDuration: "5m", maxDuration: "1h" } },
      },
    },
    access: [{ identities: [IDENTITY_ID], entitlements: [ENTITLEMENT] }],
    ...extra,
  };
  const path = join(dir, "ephemera.yaml");
  writeFileSync(path, stringify(document), { mode: 0o600 });
  return { document, path, url: `http://${listen}`, apiKey: key.key };
}

/** GET url once without keep-alive; resolves with the status, or 0 when nothing answers. */
export function probe(url: string, timeoutMs = 1000): Promise<number> {
  return new Promise((resolveStatus) => {
    const req = request(url, { method: "GET", agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on("end", () => resolveStatus(res.statusCode ?? 0));
      res.on("error", () => resolveStatus(0));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolveStatus(0));
    req.end();
  });
}

export interface ChildBroker {
  readonly pid: number;
  /** Milliseconds from just before spawn to the first /readyz 200. */
  readonly readyMs: number;
  output(): string;
  /** SIGTERM and wait for the exit (SIGKILL after 15 s). */
  stop(): Promise<void>;
}

const OUTPUT_LIMIT = 16 * 1024;
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

function environment(): NodeJS.ProcessEnv {
  // The file alone configures the child: no EPHEMERA_* variable of the caller's shell leaks in.
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith("EPHEMERA_")) env[name] = value;
  return env;
}

/**
 * Spawns the CLI with `config`, polls /readyz every `pollMs` and resolves once it answers 200.
 * `nodeArgs` go before the script (e.g. `--cpu-prof`). Rejects with the child's output if it exits or times out.
 */
export async function startChildBroker(
  config: BenchConfig,
  options: { nodeArgs?: readonly string[]; pollMs?: number; timeoutMs?: number; cli?: string } = {},
): Promise<ChildBroker> {
  const pollMs = options.pollMs ?? 20;
  const timeoutMs = options.timeoutMs ?? 30_000;
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-OUTPUT_LIMIT);
  };
  const started = nowMs();
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), options.cli ?? CLI, "server", "--config", config.path],
    {
      cwd: REPO_ROOT,
      env: environment(),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  live.add(child);
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exit = new Promise<void>((resolveExit) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      live.delete(child);
      resolveExit();
    });
  });

  const stop = async () => {
    if (exited === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exit;
      clearTimeout(timer);
    }
  };

  const readyUrl = `${config.url}/readyz`;
  for (;;) {
    if (exited !== null) {
      throw new Error(`the broker exited before it was ready (${JSON.stringify(exited)}):\n${output}`);
    }
    if ((await probe(readyUrl, 1000)) === 200) break;
    if (nowMs() - started > timeoutMs) {
      await stop();
      throw new Error(`the broker was not ready after ${timeoutMs} ms:\n${output}`);
    }
    await sleep(pollMs);
  }
  const readyMs = nowMs() - started;
  return { pid: child.pid ?? -1, readyMs, output: () => output, stop };
}
