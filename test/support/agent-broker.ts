// A real broker for the agent's tests: token, PostgreSQL and Redis targets with short maximum durations, approval
// policy for one entitlement, fresh API keys, and cleanup of every role and ACL user it made.
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JWK } from "jose";
import pg from "pg";
import { type AgentConfig, buildAgentConfig, type RunningAgent, startAgent } from "../../src/agent/index.js";
import { type AuditEvent, EphemeraClient } from "../../src/client/index.js";
import { buildConfig } from "../../src/config/load.js";
import { requireService } from "../../src/connectors/testing/services.js";
import { signCompact, type TestKey } from "../../src/identity/testing/test-issuer.js";
import { type Broker, startBroker } from "../../src/main.js";
import { randomToken } from "../../src/support/ids.js";
import { silentLogger } from "../../src/support/logger.js";
import { namedApiKeys } from "./broker.js";
import { freePort } from "./process-broker.js";
import { createRedisBrokerUser, redisAnswers, redisCommand } from "./redis.js";

const POLICY = `
@id("auto") @approval("auto") permit (principal in Group::"ci", action in [Action::"request", Action::"renew"], resource in Target::"orders");
@id("auto-cache") @approval("auto") permit (principal in Group::"ci", action in [Action::"request", Action::"renew"], resource in Target::"cache");
@id("auto-api") @approval("auto") permit (principal in Group::"ci", action in [Action::"request", Action::"renew"], resource == Entitlement::"demo-api/read");
@id("gated") @approval("1 from Group::\\"sre\\"") permit (principal in Group::"ci", action == Action::"request", resource == Entitlement::"demo-api/write");
@id("approve") permit (principal in Group::"sre", action == Action::"approve", resource in Target::"demo-api");
`;

export interface AgentBroker {
  readonly broker: Broker;
  readonly url: string;
  readonly dir: string;
  /** The agent's key (identity `svc-agent`), an approver's (`sre-bob`) and an admin's. */
  readonly keys: { readonly agent: string; readonly approver: string; readonly admin: string };
  readonly admin: EphemeraClient;
  /** Prefix of every PostgreSQL role and Redis user this broker makes. */
  readonly prefix: string;
  close(): Promise<void>;
}

export const PG = { host: "127.0.0.1", port: 5432, user: "postgres", database: "test" } as const;

export async function pgQuery<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client(PG);
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** Whether the services the broker's targets live on are up (a suite is skipped, with a note, when not). */
export async function agentServicesUp(): Promise<boolean> {
  return (
    (await requireService("postgres on 127.0.0.1:5432", async () => (await pgQuery("SELECT 1")).length === 1)) &&
    (await requireService("redis on 127.0.0.1:6379", redisAnswers))
  );
}

export interface AgentBrokerOptions {
  /** Maximum (and default) duration of the orders, cache and demo-api/read entitlements. */
  readonly maxDuration?: string;
  /** Extra authenticators (OIDC for auto-auth tests) and the identities they admit. */
  readonly authenticators?: unknown[];
}

export async function startAgentBroker(options: AgentBrokerOptions = {}): Promise<AgentBroker> {
  const suffix = randomToken(6);
  const prefix = `eph_a${suffix}_`;
  const pgRole = `eph_agent_${suffix}`;
  const dir = mkdtempSync(join(tmpdir(), "ephemera-agent-"));
  const policyDir = join(dir, "policies");
  mkdirSync(policyDir);
  writeFileSync(join(policyDir, "main.cedar"), POLICY);
  await pgQuery(`CREATE ROLE ${pgRole} NOLOGIN`);
  const redisEnv = `AGENT_REDIS_PASSWORD_${suffix.toUpperCase()}`;
  const redisBroker = await createRedisBrokerUser(prefix, redisEnv);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const max = options.maxDuration ?? "1h";
  const named = namedApiKeys(["agent", "approver", "admin"] as const);
  const config = buildConfig(
    {
      dataDir: join(dir, "data"),
      server: { listen: `127.0.0.1:${port}`, publicUrl: url },
      logging: { level: "silent" },
      lifecycle: { pollInterval: "1s", retryInitial: "1s" },
      identities: {
        "svc-agent": { kind: "workload", owner: "team-orders", groups: ["ci"], apiKeys: named.configured("agent") },
        "sre-bob": { kind: "human", groups: ["sre"], apiKeys: named.configured("approver") },
        root: { kind: "human", admin: true, apiKeys: named.configured("admin") },
      },
      ...(options.authenticators ? { authenticators: options.authenticators } : {}),
      targets: {
        "demo-api": {
          type: "token",
          audience: "https://demo-api.test",
          entitlements: {
            read: { scopes: ["demo.read"], defaultDuration: max, maxDuration: max },
            write: { scopes: ["demo.write"], defaultDuration: "5m", maxDuration: "15m" },
          },
        },
        orders: {
          type: "postgres",
          url: "postgres://postgres@127.0.0.1:5432/test",
          prefix,
          entitlements: { read: { roles: [pgRole], defaultDuration: max, maxDuration: max } },
        },
        cache: {
          type: "redis",
          url: `redis://${redisBroker}@127.0.0.1:6379`,
          password: { env: redisEnv },
          prefix,
          entitlements: {
            rw: { keys: [`${prefix}k:*`], commands: ["+get", "+set"], defaultDuration: max, maxDuration: max },
          },
        },
      },
      policies: { dir: policyDir, watch: false },
    },
    "agent test broker",
    process.env,
  );
  const broker = await startBroker(config, { logger: silentLogger() });
  return {
    broker,
    url,
    dir,
    prefix,
    keys: named.keys,
    admin: new EphemeraClient({ url, token: named.keys.admin }),
    async close() {
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
      const users = ((await redisCommand("ACL", "USERS").catch(() => [])) as string[]).filter((u) =>
        u.startsWith(prefix),
      );
      if (users.length > 0) await redisCommand("ACL", "DELUSER", ...users);
      const roles = await pgQuery<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", [
        prefix,
      ]);
      for (const { rolname } of roles) await pgQuery(`DROP ROLE IF EXISTS "${rolname}"`);
      await pgQuery(`DROP ROLE IF EXISTS ${pgRole}`);
    },
  };
}

/** Signals that never come: the agent under test is stopped by the test, not by a signal. */
export const quiet = { on: () => undefined, off: () => undefined };

/**
 * The agent's configuration with the broker's agent key (from AGENT_KEY) as its auth; `broker.url` defaults to this
 * broker's. Start it with `startKeyAgent`, which passes the key.
 */
export function keyAgentConfig(env: AgentBroker, source: string, doc: Record<string, unknown>): AgentConfig {
  return buildAgentConfig(
    { broker: { url: env.url }, auth: { type: "api-key", key: { env: "AGENT_KEY" } }, ...doc },
    source,
    { AGENT_KEY: env.keys.agent },
  );
}

export function startKeyAgent(
  env: AgentBroker,
  config: AgentConfig,
  options: { once?: boolean } = {},
): Promise<RunningAgent> {
  return startAgent(config, {
    env: { AGENT_KEY: env.keys.agent },
    signals: quiet,
    logger: silentLogger(),
    ...options,
  });
}

/** The environment `ephemera exec` runs in as the agent's identity. */
export function execEnv(env: AgentBroker): Record<string, string> {
  return { EPHEMERA_URL: env.url, EPHEMERA_TOKEN: env.keys.agent, PATH: process.env.PATH ?? "" };
}

/** The whole audit trail, page by page. */
export async function auditEvents(env: AgentBroker): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  for (let after: number | undefined, page = 0; page < 50; page++) {
    const batch = await env.admin.audit(after, 500);
    events.push(...batch.events);
    if (batch.next === null) break;
    after = batch.next;
  }
  return events;
}

export const GITHUB_ISSUER = "https://token.actions.githubusercontent.com";

/** An OIDC authenticator trusting GitHub Actions tokens signed by `publicJwk` from acme/svc's main branch as `identity`. */
export function githubAuthenticator(publicJwk: JWK, identity: string): unknown {
  const jwksFile = join(mkdtempSync(join(tmpdir(), "agent-jwks-")), "jwks.json");
  writeFileSync(jwksFile, JSON.stringify({ keys: [publicJwk] }));
  return {
    type: "oidc",
    name: "github",
    issuer: GITHUB_ISSUER,
    audience: "ephemera",
    jwks: { file: jwksFile },
    algorithms: ["ES256"],
    rules: [
      {
        name: "svc",
        match: { repository: "acme/svc", ref: "refs/heads/main" },
        identity,
        kind: "pipeline",
        owner: "team-svc",
        groups: ["ci"],
      },
    ],
  };
}

/** A GitHub Actions ID token from acme/svc's main branch, signed by `key`; without `jti` when it is null. */
export function githubToken(key: TestKey, audience: string | null, jti: string | null = randomUUID()): string {
  const now = Math.floor(Date.now() / 1000);
  return signCompact(
    { alg: "ES256", kid: key.kid, typ: "JWT" },
    {
      iss: GITHUB_ISSUER,
      aud: audience,
      sub: "repo:acme/svc:ref:refs/heads/main",
      repository: "acme/svc",
      ref: "refs/heads/main",
      ...(jti === null ? {} : { jti }),
      iat: now,
      exp: now + 600,
    },
    key,
  );
}
