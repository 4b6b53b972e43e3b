// `ephemera server` as a supervisor sees it: a start that cannot succeed exits non-zero with the reason on stderr, a
// second broker never opens a SQLite store another one holds, and the listen address can be set without editing YAML.
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createProcessBroker, freePort, type ProcessBroker } from "./support/process-broker.js";

const CLI = join(resolve(fileURLToPath(new URL("..", import.meta.url))), "bin", "ephemera.js");
const EXIT_WITHIN_MS = 20_000;

interface Ended {
  readonly code: number | null;
  readonly stderr: string;
  readonly stdout: string;
}

/** Runs `ephemera server` with `args` and waits for it to exit by itself (or kills it and fails after the bound). */
function runServer(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Ended> {
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith("EPHEMERA_")) childEnv[name] = value;
  const child = spawn(process.execPath, [CLI, "server", ...args], {
    env: { ...childEnv, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  child.stderr.on("data", (chunk) => {
    stderr += String(chunk);
  });
  child.stdout.on("data", (chunk) => {
    stdout += String(chunk);
  });
  return new Promise((resolveEnd, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`ephemera server did not exit within ${EXIT_WITHIN_MS} ms:\n${stderr}`));
    }, EXIT_WITHIN_MS);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolveEnd({ code, stderr, stdout });
    });
  });
}

let broker: ProcessBroker | null = null;
let blocker: Server | null = null;

afterEach(async () => {
  await broker?.close();
  broker = null;
  await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
  blocker = null;
});

describe("ephemera server start-up failures", () => {
  it("exits non-zero with the address on stderr when its port is taken, instead of running on", async () => {
    broker = await createProcessBroker();
    const port = await freePort();
    blocker = createServer();
    await new Promise<void>((r) => blocker?.listen(port, "127.0.0.1", () => r()));
    const ended = await runServer(["--config", broker.configPath, "--listen", `127.0.0.1:${port}`]);
    expect(ended.code).toBe(1);
    expect(ended.stderr).toContain(`127.0.0.1:${port} is already in use`);
    // The failed start released the store: the configured broker starts on it afterwards.
    await broker.start();
  });

  it("refuses a second broker on a SQLite store another broker holds, naming the holder's pid", async () => {
    broker = await createProcessBroker();
    await broker.start();
    const holder = broker.lifetimes.at(-1)?.pid;
    const port = await freePort();
    const ended = await runServer(["--config", broker.configPath], { EPHEMERA_LISTEN: `127.0.0.1:${port}` });
    expect(ended.code).toBe(1);
    expect(ended.stderr).toContain(`in use by another broker (pid ${holder}`);
    // The first broker was not touched: it still answers and holds its lock.
    const ready = await fetch(`${broker.url}/readyz`);
    expect(ready.status).toBe(200);
  });

  it("takes over the lock of a broker killed with SIGKILL", async () => {
    broker = await createProcessBroker();
    await broker.start();
    await broker.kill9();
    await broker.start();
    expect(broker.running).toBe(true);
  });

  it("listens where EPHEMERA_LISTEN says, and names a bad value", async () => {
    broker = await createProcessBroker();
    const bad = await runServer(["--config", broker.configPath], { EPHEMERA_LISTEN: "nowhere" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("EPHEMERA_LISTEN: 'nowhere' must be host:port");
  });
});
