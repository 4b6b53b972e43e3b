// A hostile client floods the broker with bad API keys while a workload asks for credentials: the workload's latency
// with and without the flood, in alternating rounds of one run, and how many audit events the flood left behind
// (read from the store after the broker stops).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { EphemeraClient } from "../src/client/index.js";
import { ENTITLEMENT, startChildBroker, writeBenchConfig } from "./broker-process.js";
import { type LatencySummary, nowMs, summarize } from "./stats.js";

export interface AbuseBenchResult {
  readonly rounds: number;
  readonly quiet: LatencySummary;
  readonly flooded: LatencySummary;
  readonly floodRequests: number;
  readonly floodStatuses: Readonly<Record<string, number>>;
  /** `auth.failed` events in the audit log after the run (first refusals and summaries). */
  readonly refusalEvents: number;
}

const badKey = (i: number) => `ephk_${String(i % 1e10).padStart(10, "0")}_${"x".repeat(43)}`;

export async function runAbuseBench(
  root: string,
  rounds = 10,
  perRound = 40,
  floodConcurrency = 8,
): Promise<AbuseBenchResult> {
  const dir = join(root, "abuse");
  mkdirSync(dir, { recursive: true });
  const config = await writeBenchConfig(dir, join(dir, "data"));
  const broker = await startChildBroker(config);
  const client = new EphemeraClient({ url: config.url, token: config.apiKey });
  const times = { quiet: [] as number[], flooded: [] as number[] };
  const statuses: Record<string, number> = {};
  let sent = 0;

  const ask = async (into: number[]) => {
    for (let i = 0; i < perRound; i++) {
      const started = nowMs();
      const issued = await client.requestNow({ entitlement: ENTITLEMENT });
      into.push(nowMs() - started);
      await client.complete(issued.grant.id);
    }
  };
  try {
    await ask([]); // warm-up
    for (let round = 0; round < rounds; round++) {
      await ask(times.quiet);
      let flooding = true;
      const flood = Array.from({ length: floodConcurrency }, async () => {
        while (flooding) {
          const response = await fetch(`${config.url}/v1/grants`, {
            headers: { authorization: `Bearer ${badKey(sent++)}` },
          });
          await response.arrayBuffer();
          statuses[response.status] = (statuses[response.status] ?? 0) + 1;
        }
      });
      await ask(times.flooded);
      flooding = false;
      await Promise.all(flood);
    }
  } finally {
    await broker.stop();
  }
  const db = new Database(join(dir, "data", "ephemera.db"), { readonly: true });
  try {
    const row = db.prepare("SELECT count(*) AS n FROM audit_events WHERE code = 'auth.failed'").get() as { n: number };
    return {
      rounds,
      quiet: summarize(times.quiet),
      flooded: summarize(times.flooded),
      floodRequests: sent,
      floodStatuses: statuses,
      refusalEvents: row.n,
    };
  } finally {
    db.close();
  }
}
