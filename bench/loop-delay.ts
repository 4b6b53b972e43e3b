// The broker child's event-loop delay and GC time over one measured run, read from its own /metrics.
//
// prom-client's default metrics keep a perf_hooks.monitorEventLoopDelay histogram (10 ms resolution) and reset it on
// every scrape, so a scrape just before a run starts a fresh window and one just after reads that window alone. A
// stall (one long synchronous piece of work on the main thread) shows as a high max and p99 here while the request
// latency p50 stays low. GC time comes from the cumulative nodejs_gc_duration_seconds histogram, taken as a difference.
import { request } from "node:http";

export interface LoopDelay {
  /** Event-loop delay over the window, ms. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Time in GC over the window, ms, and the number of collections, by kind (minor, major, incremental, weakcb). */
  readonly gcMs: number;
  readonly gcCount: number;
  readonly majorGcMs: number;
}

export interface MetricsSnapshot {
  readonly values: ReadonlyMap<string, number>;
}

function get(url: string): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const req = request(url, { method: "GET", agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolveBody(Buffer.concat(chunks).toString("utf8")));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("GET /metrics timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** Scrapes `<base>/metrics` (which also starts a fresh event-loop delay window) and keeps the samples it needs. */
export async function scrapeMetrics(base: string): Promise<MetricsSnapshot> {
  const text = await get(`${base}/metrics`);
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (
      !line.startsWith("ephemera_nodejs_eventloop_lag_") &&
      !line.startsWith("ephemera_nodejs_gc_duration_seconds_")
    ) {
      continue;
    }
    const space = line.lastIndexOf(" ");
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return { values };
}

/** The window between two scrapes: the second one's event-loop figures, and the GC time added in between. */
export function loopDelayBetween(before: MetricsSnapshot, after: MetricsSnapshot): LoopDelay {
  const lag = (name: string) =>
    (after.values.get(`ephemera_nodejs_eventloop_lag_${name}_seconds`) ?? Number.NaN) * 1000;
  const gc = (suffix: "sum" | "count", kind?: string) => {
    let total = 0;
    for (const [key, value] of after.values) {
      if (!key.startsWith(`ephemera_nodejs_gc_duration_seconds_${suffix}`)) continue;
      if (kind !== undefined && !key.includes(`kind="${kind}"`)) continue;
      total += value - (before.values.get(key) ?? 0);
    }
    return total;
  };
  return {
    p50Ms: lag("p50"),
    p99Ms: lag("p99"),
    maxMs: lag("max"),
    gcMs: gc("sum") * 1000,
    gcCount: gc("count"),
    majorGcMs: gc("sum", "major") * 1000,
  };
}

export function formatLoopDelay(d: LoopDelay): string {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : "n/a");
  return `loop delay p50 ${f(d.p50Ms)} / p99 ${f(d.p99Ms)} / max ${f(d.maxMs)} ms; GC ${f(d.gcMs)} ms in ${d.gcCount} (major ${f(d.majorGcMs)} ms)`;
}
