// Closed-loop HTTP load: N workers over a keep-alive agent POST /v1/requests and time each credential.
import { Agent, request } from "node:http";
import { machineCpuMs, processCpuMs } from "./cpu.js";
import { type LatencySummary, nowMs, summarize } from "./stats.js";

export interface LoadOptions {
  readonly url: string;
  readonly apiKey: string;
  readonly entitlement: string;
  readonly concurrency: number;
  /** Stop after this many requests have been started… */
  readonly maxRequests: number;
  /** …or after this long, whichever comes first. */
  readonly maxMs: number;
  /** The broker's process id, to report its CPU use (Linux /proc). */
  readonly brokerPid?: number;
}

export interface LoadResult {
  readonly concurrency: number;
  readonly elapsedMs: number;
  /** 201 answers carrying a credential. */
  readonly credentials: number;
  readonly credentialsPerSecond: number;
  /** Every other outcome, by status (0 = transport error, "201-no-credential" = a 201 without a token). */
  readonly errors: Readonly<Record<string, number>>;
  readonly errorCount: number;
  /** First error seen, shortened, for the report. */
  readonly firstError: string | null;
  /** Latency of successful requests, ms. */
  readonly latency: LatencySummary;
  /** CPU time over wall time, in % of one core: the load generator (this process) and the broker child. */
  readonly clientCpuPercent: number;
  readonly brokerCpuPercent: number | null;
  /** CPU used by everything else on the machine meanwhile (other processes disturb the figures), or null. */
  readonly otherCpuPercent: number | null;
}

interface Outcome {
  readonly status: number;
  readonly body: string;
}

function post(agent: Agent, url: URL, headers: Record<string, string>, body: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: "/v1/requests",
        method: "POST",
        headers,
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", (e) => resolve({ status: 0, body: e.message }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout after 30 s")));
    req.on("error", (e) => resolve({ status: 0, body: e.message }));
    req.end(body);
  });
}

/** True when the 201 body holds a non-empty credential token. */
function hasCredential(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as { credential?: { fields?: { token?: unknown } } };
    const token = parsed.credential?.fields?.token;
    return typeof token === "string" && token.split(".").length === 3;
  } catch {
    return false;
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (!options.url.startsWith("http://127.0.0.1:")) throw new Error("the bench only sends traffic to 127.0.0.1");
  const url = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency, maxFreeSockets: options.concurrency });
  const body = JSON.stringify({ entitlement: options.entitlement, duration: "5m" });
  const headers = {
    authorization: `Bearer ${options.apiKey}`,
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(body)),
  };
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let firstError: string | null = null;
  let started = 0;
  const brokerCpu0 = options.brokerPid === undefined ? null : processCpuMs(options.brokerPid);
  const clientCpu0 = process.cpuUsage();
  const machineCpu0 = machineCpuMs();
  const begin = nowMs();
  const deadline = begin + options.maxMs;

  const worker = async () => {
    while (started < options.maxRequests && nowMs() < deadline) {
      started++;
      const t0 = nowMs();
      const outcome = await post(agent, url, headers, body);
      const elapsed = nowMs() - t0;
      if (outcome.status === 201 && hasCredential(outcome.body)) {
        latencies.push(elapsed);
        continue;
      }
      const kind = outcome.status === 201 ? "201-no-credential" : String(outcome.status);
      errors[kind] = (errors[kind] ?? 0) + 1;
      firstError ??= `${kind}: ${outcome.body.slice(0, 300)}`;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsedMs = nowMs() - begin;
  const clientCpu = process.cpuUsage(clientCpu0);
  const brokerCpu1 = options.brokerPid === undefined ? null : processCpuMs(options.brokerPid);
  const machineCpu1 = machineCpuMs();
  const clientMs = (clientCpu.user + clientCpu.system) / 1000;
  const brokerMs = brokerCpu0 === null || brokerCpu1 === null ? null : brokerCpu1 - brokerCpu0;
  const otherMs =
    machineCpu0 === null || machineCpu1 === null || brokerMs === null
      ? null
      : Math.max(0, machineCpu1 - machineCpu0 - brokerMs - clientMs);
  agent.destroy();
  const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
  return {
    concurrency: options.concurrency,
    elapsedMs,
    credentials: latencies.length,
    credentialsPerSecond: (latencies.length / elapsedMs) * 1000,
    errors,
    errorCount,
    firstError,
    latency: summarize(latencies),
    clientCpuPercent: (clientMs / elapsedMs) * 100,
    brokerCpuPercent: brokerMs === null ? null : (brokerMs / elapsedMs) * 100,
    otherCpuPercent: otherMs === null ? null : (otherMs / elapsedMs) * 100,
  };
}
