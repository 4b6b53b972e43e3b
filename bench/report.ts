// The bench's one table: its rows and warnings as the sections add them, their number format, progress logging, print.
import { round } from "./stats.js";

/** What the bench aims for; a row beside its target says whether it was met. */
export const TARGETS = {
  credentialsPerSecondAt32: 3000,
  p99Ms: 15,
  /** Broker throughput at 32 over floor throughput: at most twice the floor's cost per credential. */
  floorRatio: 0.5,
  expiryLagP99Ms: 1000,
  restartReadyMs: 3000,
  /** A policy decision at 1,000 policies (typical spread), p99. */
  policyP99Ms: 0.5,
  /** An AI agent's MCP tool call to a credential in its sink, over the plain HTTP request. */
  mcpOverHttp: 1.5,
  /** Audit events a flood of bad keys from one address may leave (first refusals and summaries): a few dozen. */
  abuseRefusalEvents: 36,
  /** The agent's rotation as an app sees it: no failed operation, and at most this much more p99 latency. */
  agentRotationFailedOps: 0,
  agentRotationExtraP99Ms: 5,
} as const;

interface Row {
  readonly scenario: string;
  readonly metric: string;
  readonly value: string;
  readonly target: string;
  readonly met: boolean | null;
}

export const rows: Row[] = [];
export const warnings: string[] = [];
export function row(scenario: string, metric: string, value: string, target = "", met: boolean | null = null): void {
  rows.push({ scenario, metric, value, target, met });
}

/** Notes a phase during which other processes used ≥ 10% of a core: its figures are disturbed. */
export function quiet(phase: string, otherCpuPercent: number | null): void {
  if (otherCpuPercent !== null && otherCpuPercent >= 10) {
    warnings.push(
      `other processes used ${otherCpuPercent.toFixed(1)}% of a core during "${phase}": the machine was not quiet`,
    );
  }
}

export function fmt(value: number, unit = ""): string {
  if (!Number.isFinite(value)) return "n/a";
  const v = round(value);
  return `${v.toLocaleString("en-US")}${unit}`;
}

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export function printTable(): void {
  const headers = ["scenario", "figure", "value", "target", "met"];
  const cells = rows.map((r) => [r.scenario, r.metric, r.value, r.target, r.met === null ? "" : r.met ? "yes" : "NO"]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => (i === 2 ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  const out = [line(headers), widths.map((w) => "-".repeat(w)).join("  ")];
  let last = "";
  for (const c of cells) {
    const scenario = c[0] === last ? "" : (c[0] ?? "");
    last = c[0] ?? "";
    out.push(line([scenario, ...c.slice(1)]));
  }
  process.stdout.write(`${out.join("\n")}\n`);
}
