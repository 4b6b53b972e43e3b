// The broker process the memory section measures: a broker started in process on SQLite (dist/, as the CLI runs it)
// issues token credentials through the lifecycle and, at each checkpoint, reports its RSS and live heap as a JSON line.
// Run with --expose-gc by bench/memory.ts; argv: <config JSON file> <concurrency> <checkpoint>…
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { pino } from "pino";
import { ENTITLEMENT, IDENTITY_ID } from "./broker-process.js";
import { ephemera, REPO_ROOT } from "./library.js";
import { nowMs } from "./stats.js";

type Lifecycle = typeof import("../src/lifecycle/index.js");
const { requestAccess }: Lifecycle = await import(pathToFileURL(join(REPO_ROOT, "dist", "lifecycle", "index.js")).href);

const [configFile, concurrencyArg, ...checkpointArgs] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (configFile === undefined || gc === undefined)
  throw new Error("usage: node --expose-gc memory-child.js <config> <c> <n>…");
const concurrency = Number(concurrencyArg);
const checkpoints = checkpointArgs.map(Number);
const MIB = 2 ** 20;

const document = JSON.parse(readFileSync(configFile, "utf8")) as Record<string, unknown>;
const config = ephemera.buildConfig(document, "bench", {}, REPO_ROOT);
const broker = await ephemera.startBroker(config, { listen: false, logger: pino({ level: "silent" }) });
const report = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);
try {
  const caller = await broker.deps.catalog.identity(IDENTITY_ID);
  if (!caller) throw new Error(`${IDENTITY_ID} is not configured`);
  const sample = async (credentials: number, seconds: number) => {
    gc();
    const m = process.memoryUsage();
    const counts = Object.fromEntries(await broker.deps.store.countGrantsByState());
    report({
      credentials,
      activeGrants: counts.active ?? 0,
      rssMiB: m.rss / MIB,
      heapUsedMiB: m.heapUsed / MIB,
      externalMiB: m.external / MIB,
      seconds,
    });
  };
  await sample(0, 0);
  let issued = 0;
  let errors = 0;
  let firstError: string | null = null;
  const started = nowMs();
  for (const target of checkpoints) {
    // Workers take request numbers until the checkpoint's count; the sample is taken with nothing in flight.
    const worker = async () => {
      while (issued < target) {
        issued += 1;
        try {
          const result = await requestAccess(
            broker.deps,
            caller,
            { entitlement: ENTITLEMENT, duration: "1h" },
            { sourceAddress: null },
          );
          if (result.outcome !== "issued") throw new Error(`outcome ${result.outcome}`);
        } catch (error) {
          errors += 1;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    await sample(issued, (nowMs() - started) / 1000);
    if (errors > issued / 100) break;
  }
  report({ done: true, errors, firstError });
} finally {
  await broker.close();
}
