// For `ephemera mcp` tests: a real broker with a PostgreSQL target and the example AI-agent policies, the real
// `ephemera mcp` process driven by the MCP SDK's own client, and helpers to read sinks and look at the target.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { expect } from "vitest";
import { stringify } from "yaml";
import { buildConfig } from "../../src/config/load.js";
import { requireService } from "../../src/connectors/testing/services.js";
import { type Broker, startBroker } from "../../src/main.js";
import { randomToken } from "../../src/support/ids.js";
import { silentLogger } from "../../src/support/logger.js";
import { pgQuery as sql } from "./agent-broker.js";
import { namedApiKeys } from "./broker.js";

export const REPO_ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const CLI = join(REPO_ROOT, "bin", "ephemera.js");
export const AGENT_POLICIES = join(REPO_ROOT, "examples", "policies", "ai-agents");

/** Fails the file in CI (CI=true) when PostgreSQL is not there; skips with a note elsewhere. */
export function postgresUp(): Promise<boolean> {
  return requireService("postgres on 127.0.0.1:5432", async () => {
    await sql("SELECT 1");
    return true;
  });
}

export interface AgentBroker {
  readonly broker: Broker;
  readonly dir: string;
  readonly keys: { readonly agent: string; readonly dba: string; readonly admin: string };
  readonly table: string;
  readonly prefix: string;
  /** Roles the broker made that still exist on the target. */
  roles(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * A broker whose `orders` target is the real PostgreSQL (read: SELECT on a fresh table; write: INSERT), deciding with
 * examples/policies/ai-agents, with an agent, a DBA who approves writes, and an admin.
 */
export async function startAgentBroker(): Promise<AgentBroker> {
  const suffix = randomToken(6)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "x");
  const prefix = `eph_m${suffix}_`;
  const table = `mcp_orders_${suffix}`;
  const readRole = `eph_mcp_read_${suffix}`;
  const writeRole = `eph_mcp_write_${suffix}`;
  await sql(`CREATE TABLE ${table} (id int PRIMARY KEY, item text)`);
  await sql(`INSERT INTO ${table} VALUES (1, 'book'), (2, 'lamp')`);
  await sql(`CREATE ROLE ${readRole} NOLOGIN`);
  await sql(`CREATE ROLE ${writeRole} NOLOGIN`);
  await sql(`GRANT SELECT ON ${table} TO ${readRole}`);
  await sql(`GRANT SELECT, INSERT ON ${table} TO ${writeRole}`);

  const dir = mkdtempSync(join(tmpdir(), "ephemera-mcp-test-"));
  const named = namedApiKeys(["agent", "dba", "admin"] as const);
  const config = buildConfig(
    {
      dataDir: join(dir, "data"),
      server: { listen: "127.0.0.1:0" },
      logging: { level: "silent" },
      identities: {
        "support-agent": {
          kind: "agent",
          owner: "team-support",
          groups: ["agents"],
          apiKeys: named.configured("agent"),
        },
        "dba-dana": { kind: "human", owner: "dba-team", groups: ["dba"], apiKeys: named.configured("dba") },
        admin: { kind: "human", owner: "security", admin: true, apiKeys: named.configured("admin") },
      },
      targets: {
        orders: {
          type: "postgres",
          url: "postgres://postgres@127.0.0.1:5432/test",
          prefix,
          entitlements: {
            read: { roles: [readRole], defaultDuration: "15m", maxDuration: "1h" },
            write: { roles: [writeRole], defaultDuration: "5m", maxDuration: "1h", risk: "medium" },
          },
        },
      },
      policies: { dir: AGENT_POLICIES, watch: false },
    },
    "mcp test",
  );
  const broker = await startBroker(config, { logger: silentLogger() });
  const roles = async () =>
    (await sql("SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", [prefix])).map((r) => String(r.rolname));
  return {
    broker,
    dir,
    keys: named.keys,
    table,
    prefix,
    roles,
    async close() {
      try {
        await broker.close();
      } finally {
        for (const role of await roles()) await sql(`DROP ROLE IF EXISTS "${role}"`);
        await sql(`DROP TABLE IF EXISTS ${table}`);
        await sql(`DROP ROLE IF EXISTS ${readRole}`);
        await sql(`DROP ROLE IF EXISTS ${writeRole}`);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Writes an `ephemera mcp` config for the agent (API key in a 0600 file); returns its path and the sink folder. */
export function writeMcpConfig(
  agent: AgentBroker,
  name: string,
  extra: Record<string, unknown> = {},
): { path: string; sinkDir: string } {
  const folder = join(agent.dir, name);
  mkdirSync(folder, { recursive: true });
  const keyFile = join(folder, "agent.key");
  writeFileSync(keyFile, `${agent.keys.agent}\n`, { mode: 0o600 });
  const sinkDir = join(folder, "sinks");
  const path = join(folder, "mcp.yaml");
  writeFileSync(
    path,
    stringify({
      broker: { url: agent.broker.url, auth: { apiKeyFile: keyFile } },
      sinks: { dir: sinkDir },
      ...extra,
    }),
  );
  return { path, sinkDir };
}

/** The environment an `ephemera mcp` child gets: PATH and HOME, nothing of the broker's. */
export function childEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? tmpdir() };
}

export interface ToolOutcome {
  readonly isError: boolean;
  readonly text: string;
  readonly data: Record<string, unknown>;
  /** The whole result as the client received it, for searching. */
  readonly raw: string;
}

/** Calls a tool and keeps the raw result in `seen`, so a test can search every result for secrets. */
export async function callTool(
  client: Client,
  seen: string[],
  name: string,
  args: Record<string, unknown>,
): Promise<ToolOutcome> {
  const result = await client.callTool({ name, arguments: args });
  const raw = JSON.stringify(result);
  seen.push(raw);
  const content = Array.isArray(result.content) ? result.content : [];
  const first = content[0] as { type?: string; text?: string } | undefined;
  return {
    isError: result.isError === true,
    text: first?.type === "text" ? (first.text ?? "") : "",
    data: (result.structuredContent ?? {}) as Record<string, unknown>,
    raw,
  };
}

/** `callTool` for a call that must succeed: a failure fails the test with the tool's own text. */
export async function callOk(
  client: Client,
  seen: string[],
  name: string,
  args: Record<string, unknown>,
): Promise<ToolOutcome> {
  const outcome = await callTool(client, seen, name, args);
  expect(outcome.isError, outcome.text).toBe(false);
  return outcome;
}

/** A dotenv sink read back (values single- or double-quoted as the sink writes them). */
export function readEnvSink(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)='(.*)'$/.exec(line);
    if (match?.[1] !== undefined) out[match[1]] = match[2] ?? "";
  }
  return out;
}

/** Runs one query through psql with the sink's variables (PGHOST, PGUSER, PGPASSWORD…) and nothing else. */
export function psql(env: Record<string, string>, query: string): { ok: boolean; out: string } {
  const run = spawnSync("psql", ["-X", "-tA", "-c", query], {
    env: { PATH: process.env.PATH ?? "", ...env },
    encoding: "utf8",
    timeout: 10_000,
  });
  return { ok: run.status === 0, out: `${run.stdout}${run.stderr}`.trim() };
}

/** Polls `check` every 50 ms until it holds or `ms` passes; returns how long it took, or null. */
export async function within(ms: number, check: () => Promise<boolean>): Promise<number | null> {
  const started = Date.now();
  while (Date.now() - started <= ms) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}
