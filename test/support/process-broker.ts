// Runs the real `ephemera server` CLI as a child process on a temp data dir, for crash and restart tests (SIGKILL, SIGTERM).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { buildConfig } from "../../src/config/load.js";
import { generateApiKey } from "../../src/identity/api-keys.js";
import { testConfigDocument } from "./broker.js";

const REPO_ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const CLI = join(REPO_ROOT, "bin", "ephemera.js");
// Generous: a loaded 2-core machine has taken 7 s to start a broker; this bounds a hang, it measures nothing.
const READY_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 10_000;
const OUTPUT_LIMIT = 64 * 1024;

/** One run of the child: when it was spawned, became ready and exited, and how it ended. */
export interface Lifetime {
  readonly pid: number;
  readonly spawnedAt: number;
  readyAt: number | null;
  exitedAt: number | null;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  /** True when the test asked for the exit (kill9 or stop); false for a crash or a refused start. */
  expected: boolean;
}

export interface ProcessBroker {
  readonly url: string;
  readonly dataDir: string;
  readonly configPath: string;
  readonly keys: { readonly ci: string; readonly other: string; readonly admin: string };
  /** Every process started so far, oldest first. */
  readonly lifetimes: readonly Lifetime[];
  /** Whether a child is running now. */
  readonly running: boolean;
  /** Recent stdout and stderr of all children (bounded), for failure messages. */
  output(): string;
  /** Spawns the broker and waits for GET /readyz 200 (≤ 30 s by default); rejects with the child's output if it exits first. */
  start(): Promise<void>;
  /** SIGKILL: no cleanup, no flush beyond what the store already committed. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<void>;
  /** Stops the running child (SIGTERM, or SIGKILL with `hard`) and starts a new one on the same data dir. */
  restart(options?: { hard?: boolean }): Promise<void>;
  /** Kills any child and removes the temp directory. Safe to call twice and after a failure. */
  close(): Promise<void>;
}

/** A port the kernel says is free now: listen on 0, read it, close. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error("no port from the kernel"))));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// Children still running if the test process itself goes away (a vitest fork exiting on a failure).
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

export type BrokerKeys = Record<"ci" | "other" | "admin", ReturnType<typeof generateApiKey>>;

export interface ProcessBrokerOptions {
  /** API keys to configure (replicas of one deployment share them); fresh ones by default. */
  readonly keys?: BrokerKeys;
  /** Changes to the config document (a shared store, more targets, other lifecycle settings). */
  readonly configure?: (document: Record<string, unknown>) => Record<string, unknown>;
  /** How long `start` waits for /readyz 200. Default 10 s. */
  readonly readyTimeoutMs?: number;
  /** The port to listen on (from `freePort()`), when the test must know the URL first; a free one by default. */
  readonly port?: number;
}

export async function createProcessBroker(options: ProcessBrokerOptions = {}): Promise<ProcessBroker> {
  const dir = mkdtempSync(join(tmpdir(), "ephemera-proc-"));
  const dataDir = join(dir, "data");
  const configPath = join(dir, "ephemera.yaml");
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const keys = options.keys ?? { ci: generateApiKey(), other: generateApiKey(), admin: generateApiKey() };
  const base: Record<string, unknown> = {
    ...testConfigDocument(dataDir, keys),
    server: { listen: `127.0.0.1:${port}`, publicUrl: url },
    logging: { level: "warn" },
    lifecycle: { pollInterval: "1s", retryInitial: "1s" },
  };
  const document = options.configure ? options.configure(base) : base;
  buildConfig(document, configPath, process.env); // fail here, with the schema's message, rather than in the child
  writeFileSync(configPath, stringify(document), { mode: 0o600 });

  const lifetimes: Lifetime[] = [];
  let output = "";
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let closed = false;

  const append = (chunk: Buffer | string) => {
    output += String(chunk);
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT);
  };

  async function ready(lifetime: Lifetime): Promise<void> {
    const deadline = Date.now() + readyTimeoutMs;
    let last = "no answer";
    while (Date.now() < deadline) {
      if (lifetime.exit !== null) {
        throw new Error(`the broker exited during start (${JSON.stringify(lifetime.exit)}):\n${output}`);
      }
      try {
        const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) });
        last = `${response.status} ${await response.text()}`;
        if (response.status === 200) {
          lifetime.readyAt = Date.now();
          return;
        }
      } catch {
        // not listening yet
      }
      await sleep(25);
    }
    throw new Error(`the broker was not ready within ${readyTimeoutMs} ms (last /readyz: ${last}):\n${output}`);
  }

  async function start(): Promise<void> {
    if (closed) throw new Error("the process broker is closed");
    if (child !== null) throw new Error("the broker is already running");
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (!name.startsWith("EPHEMERA_")) env[name] = value;
    }
    const spawned = spawn(process.execPath, [CLI, "server", "--config", configPath], {
      cwd: dir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lifetime: Lifetime = {
      pid: spawned.pid ?? -1,
      spawnedAt: Date.now(),
      readyAt: null,
      exitedAt: null,
      exit: null,
      expected: false,
    };
    lifetimes.push(lifetime);
    child = spawned;
    live.add(spawned);
    spawned.stdout?.on("data", append);
    spawned.stderr?.on("data", append);
    exited = new Promise<void>((resolveExit) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        if (lifetime.exit === null) {
          lifetime.exit = { code, signal };
          lifetime.exitedAt = Date.now();
        }
        live.delete(spawned);
        if (child === spawned) child = null;
        resolveExit();
      };
      spawned.once("exit", done);
      spawned.once("error", (error) => {
        append(`spawn error: ${error.message}\n`);
        done(null, null);
      });
    });
    try {
      await ready(lifetime);
    } catch (error) {
      await kill("SIGKILL");
      throw error;
    }
  }

  async function kill(signal: "SIGKILL" | "SIGTERM"): Promise<void> {
    const current = child;
    if (current === null) return;
    const lifetime = lifetimes.at(-1);
    if (lifetime) lifetime.expected = true;
    const waiting = exited;
    current.kill(signal);
    const timedOut = await Promise.race([waiting.then(() => false), sleep(EXIT_TIMEOUT_MS).then(() => true)]);
    if (timedOut) {
      current.kill("SIGKILL");
      await waiting;
      throw new Error(`the broker did not exit within ${EXIT_TIMEOUT_MS} ms of ${signal}:\n${output}`);
    }
  }

  return {
    url,
    dataDir,
    configPath,
    keys: { ci: keys.ci.key, other: keys.other.key, admin: keys.admin.key },
    lifetimes,
    get running() {
      return child !== null;
    },
    output: () => output,
    start,
    kill9: () => kill("SIGKILL"),
    async stop() {
      await kill("SIGTERM");
      const last = lifetimes.at(-1);
      if (last?.exit && last.exit.code !== 0) {
        throw new Error(`the broker exited with ${JSON.stringify(last.exit)} on SIGTERM:\n${output}`);
      }
    },
    async restart(options = {}) {
      await kill(options.hard ? "SIGKILL" : "SIGTERM");
      await start();
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await kill("SIGKILL");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
