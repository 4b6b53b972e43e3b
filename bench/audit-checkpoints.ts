// What a signed audit checkpoint costs, and what verifying a log offline against its checkpoints costs, on SQLite:
// `npx tsc -p tsconfig.bench.json && node build/bench/bench/audit-checkpoints.js [events…]` (default 1000 10000 100000).
// A checkpoint reads its range from the store, verifies the chain, builds the Merkle root, signs, writes and fsyncs the
// file and commits; the broker does it every `audit.checkpoints.every` events, so the first figure is its cost per
// 1,000 events.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { loadCheckpointKey } from "../src/audit/audit-keys.js";
import { Checkpointer } from "../src/audit/checkpointer.js";
import { readCheckpointDir } from "../src/audit/read-checkpoints.js";
import { systemEvent } from "../src/audit/system-event.js";
import { verifyAgainstCheckpoints } from "../src/audit/verify-checkpoints.js";
import type { AuditEvent } from "../src/domain/types.js";
import { openSqliteStore } from "../src/storage/sqlite/index.js";
import type { Store } from "../src/storage/store.js";
import { systemClock } from "../src/support/clock.js";
import { silentLogger } from "../src/support/logger.js";
import { Sealer } from "../src/support/sealer.js";

async function* all(store: Store): AsyncGenerator<AuditEvent> {
  let after = 0;
  for (;;) {
    const page = await store.listAudit(after, 1000);
    if (page.length === 0) return;
    yield* page;
    after = page[page.length - 1]!.seq;
  }
}

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
for (const n of sizes.length > 0 ? sizes : [1000, 10_000, 100_000]) {
  const dir = mkdtempSync(join(tmpdir(), "ephemera-bench-cp-"));
  const store = await openSqliteStore(join(dir, "bench.db"));
  try {
    const key = await loadCheckpointKey(store, new Sealer(randomBytes(32)), systemClock.now());
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const data = { i, entitlement: "orders-db/read", durationSeconds: 900 };
      writes.push(
        store.apply({ writes: [], audit: [systemEvent("broker.started", systemClock.now(), "bench", data)] }),
      );
    }
    await Promise.all(writes);
    const sinkDir = join(dir, "checkpoints");
    const checkpointer = new Checkpointer({
      store,
      clock: systemClock,
      logger: silentLogger(),
      key,
      every: n,
      intervalMs: 60_000,
      sinkDir,
      webhook: null,
    });
    let started = performance.now();
    await checkpointer.runOnce(true);
    const signMs = performance.now() - started;
    started = performance.now();
    const verdict = await verifyAgainstCheckpoints(all(store), readCheckpointDir(sinkDir), key.publicJwk);
    const verifyMs = performance.now() - started;
    if (!verdict.ok) throw new Error(`the log did not verify: ${verdict.detail}`);
    console.log(
      `${n} events: checkpoint ${signMs.toFixed(1)} ms (${((signMs / n) * 1000).toFixed(1)} µs/event); ` +
        `offline verify ${verifyMs.toFixed(1)} ms (${((verifyMs / n) * 1000).toFixed(1)} µs/event)`,
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
