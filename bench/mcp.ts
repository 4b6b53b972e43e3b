// An AI agent's path to a credential: an MCP `request_access` tool call to `ephemera mcp` (stdio, the SDK's own
// client) until the credential is in its sink file, beside the plain HTTP request (the TypeScript client) to the same
// broker child, interleaved one for one in one run so all see the same machine. Two sink folders: tmpfs (/dev/shm,
// where a credential should live: never on a disk) and the temp folder on disk (the sink's fsyncs then cost real I/O).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { EphemeraClient } from "../src/client/index.js";
import { ENTITLEMENT, startChildBroker, writeBenchConfig } from "./broker-process.js";
import { CLI } from "./library.js";
import { type LatencySummary, nowMs, summarize } from "./stats.js";

export interface McpBenchResult {
  readonly iterations: number;
  /** Sinks on tmpfs; null when /dev/shm is not there. */
  readonly mcpTmpfs: LatencySummary | null;
  readonly mcpDisk: LatencySummary;
  readonly http: LatencySummary;
}

const INTENT = { task: "bench", actions: ["bench.read"] };

async function agentFor(dir: string, url: string, apiKey: string, sinkDir: string): Promise<Client> {
  // The per-session request budget is a guard for real agents; the bench asks far faster on purpose.
  const settings = join(dir, `mcp-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(settings, "limits: { requestsPerMinute: 10000, totalRequestsPerMinute: 100000 }\n");
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, "mcp", "--config", settings, "--url", url, "--sink-dir", sinkDir],
    env: { PATH: process.env.PATH ?? "", EPHEMERA_TOKEN: apiKey },
    stderr: "ignore",
  });
  const agent = new Client({ name: "ephemera-bench", version: "1" });
  await agent.connect(transport);
  return agent;
}

/** One request_access → sink, timed; then complete_access, untimed. */
async function toolCall(agent: Client): Promise<number> {
  const started = nowMs();
  const result = await agent.callTool({
    name: "request_access",
    arguments: { entitlement: ENTITLEMENT, intent: INTENT },
  });
  const ms = nowMs() - started;
  const data = result.structuredContent as { grantId?: string; sink?: { path?: string } } | undefined;
  if (result.isError || !data?.grantId || !data.sink?.path || !existsSync(data.sink.path)) {
    throw new Error(`request_access failed: ${JSON.stringify(result.content).slice(0, 300)}`);
  }
  await agent.callTool({ name: "complete_access", arguments: { grantId: data.grantId } });
  return ms;
}

export async function runMcpBench(root: string, iterations = 200, warmup = 20): Promise<McpBenchResult> {
  const dir = join(root, "mcp");
  mkdirSync(dir, { recursive: true });
  const config = await writeBenchConfig(dir, join(dir, "data"));
  const broker = await startChildBroker(config);
  const shm = existsSync("/dev/shm") ? mkdtempSync(join("/dev/shm", "ephemera-bench-")) : null;
  const agents: Client[] = [];
  try {
    const onDisk = await agentFor(dir, config.url, config.apiKey, join(dir, "sinks"));
    agents.push(onDisk);
    const onTmpfs = shm === null ? null : await agentFor(dir, config.url, config.apiKey, shm);
    if (onTmpfs) agents.push(onTmpfs);
    const http = new EphemeraClient({ url: config.url, token: config.apiKey });
    const times = { tmpfs: [] as number[], disk: [] as number[], http: [] as number[] };
    for (let i = 0; i < warmup + iterations; i++) {
      const tmpfsMs = onTmpfs ? await toolCall(onTmpfs) : null;
      const diskMs = await toolCall(onDisk);
      const started = nowMs();
      const issued = await http.requestNow({ entitlement: ENTITLEMENT, intent: INTENT });
      const httpMs = nowMs() - started;
      await http.complete(issued.grant.id);
      if (i < warmup) continue;
      if (tmpfsMs !== null) times.tmpfs.push(tmpfsMs);
      times.disk.push(diskMs);
      times.http.push(httpMs);
    }
    return {
      iterations,
      mcpTmpfs: onTmpfs ? summarize(times.tmpfs) : null,
      mcpDisk: summarize(times.disk),
      http: summarize(times.http),
    };
  } finally {
    for (const agent of agents) await agent.close().catch(() => undefined);
    await broker.stop();
    if (shm !== null) rmSync(shm, { recursive: true, force: true });
  }
}
