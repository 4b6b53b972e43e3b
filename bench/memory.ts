// Broker memory: RSS and live heap (after a full collection) of a broker process on SQLite at checkpoints while it
// issues credentials through the lifecycle, from 100,000 active grants to 1,000,000 issued, so a leak shows as growth.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { writeBenchConfig } from "./broker-process.js";

export interface MemoryCheckpoint {
  readonly credentials: number;
  /** Grants in `active` at the checkpoint: every grant issued lasts an hour, so all of them. */
  readonly activeGrants: number;
  readonly rssMiB: number;
  /** V8 heap in use after a full collection: what the broker keeps alive. */
  readonly heapUsedMiB: number;
  /** Buffers and other memory V8 is told of outside its heap (SQLite's own cache is in RSS only). */
  readonly externalMiB: number;
  /** Seconds since the first request. */
  readonly seconds: number;
}

export interface MemoryResult {
  /** The broker started and idle, before the first request. */
  readonly idle: MemoryCheckpoint;
  readonly checkpoints: readonly MemoryCheckpoint[];
  readonly credentialsPerSecond: number;
  readonly errors: number;
  readonly firstError: string | null;
}

export interface MemoryOptions {
  /** Credentials issued at each checkpoint, ascending. */
  readonly checkpoints: readonly number[];
  readonly concurrency: number;
  readonly log: (message: string) => void;
}

const CHILD = join(dirname(fileURLToPath(import.meta.url)), "memory-child.js");

/** Runs the broker child in `root`/memory and collects its checkpoints. */
export async function runMemory(root: string, options: MemoryOptions): Promise<MemoryResult> {
  const dir = join(root, "memory");
  mkdirSync(dir, { recursive: true });
  const config = await writeBenchConfig(dir, join(dir, "data"), "1s", { logging: { level: "error" } });
  const configFile = join(dir, "config.json");
  writeFileSync(configFile, JSON.stringify(config.document), { mode: 0o600 });
  const child = spawn(
    process.execPath,
    ["--expose-gc", CHILD, configFile, String(options.concurrency), ...options.checkpoints.map(String)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const points: MemoryCheckpoint[] = [];
  let done: { errors: number; firstError: string | null } | null = null;
  for await (const line of createInterface({ input: child.stdout })) {
    const parsed = JSON.parse(line) as MemoryCheckpoint | { done: true; errors: number; firstError: string | null };
    if ("done" in parsed) done = parsed;
    else {
      points.push(parsed);
      options.log(
        `memory: ${parsed.credentials.toLocaleString("en-US")} issued (${parsed.seconds.toFixed(0)} s): RSS ${parsed.rssMiB.toFixed(1)} MiB, heap ${parsed.heapUsedMiB.toFixed(1)} MiB`,
      );
    }
  }
  const code = await new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (c) => resolve(c));
  });
  const [idle, ...checkpoints] = points;
  if (code !== 0 || done === null || idle === undefined) {
    throw new Error(`the memory broker child exited with ${code} after ${points.length} report(s)`);
  }
  const last = checkpoints.at(-1);
  return {
    idle,
    checkpoints,
    credentialsPerSecond: last === undefined ? 0 : last.credentials / last.seconds,
    errors: done.errors,
    firstError: done.firstError,
  };
}
