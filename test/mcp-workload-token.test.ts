// `ephemera mcp` authenticates as the agent's workload identity with OIDC tokens: a token file is read again for every
// call (a rotated file is picked up; an unchanged one is a replay the broker refuses, shown to the model as
// token_replayed), a token command makes a fresh token for every request, and an `ephemera agent` configuration's
// oidc-file source never sends a token already used for a request. A bad agent configuration stops it at start.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { buildConfig } from "../src/config/load.js";
import { makeKey, signCompact, type TestKey } from "../src/identity/testing/test-issuer.js";
import { type Broker, startBroker } from "../src/main.js";
import { silentLogger } from "../src/support/logger.js";
import { CLI, callTool, childEnv, readEnvSink } from "./support/mcp.js";

const ISSUER = "https://agents.idp.test";
const AUD = "ephemera";
const CLAIMS = { sub: "agent:support", agent: "support" };
/** A token command as a platform would ship one: signs a fresh ES256 token (new jti) with the issuer's key. */
const MINT = `
import { createPrivateKey, randomUUID, sign } from "node:crypto";
import { readFileSync } from "node:fs";
const { jwk, iss, aud, claims } = JSON.parse(readFileSync(process.argv[2], "utf8"));
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
const now = Math.floor(Date.now() / 1000);
const input = b64({ alg: "ES256", kid: "agent-1", typ: "JWT" }) + "." + b64({ iss, aud, ...claims, jti: randomUUID(), iat: now, nbf: now, exp: now + 300 });
const signature = sign("sha256", Buffer.from(input), { key: createPrivateKey({ key: jwk, format: "jwk" }), dsaEncoding: "ieee-p1363" });
process.stdout.write(input + "." + signature.toString("base64url") + "\\n");
`;

describe("ephemera mcp with workload tokens", () => {
  let dir: string;
  let broker: Broker;
  let key: TestKey;
  const clients: Client[] = [];
  const seen: string[] = [];
  const tokens: string[] = [];

  const token = () => {
    const now = Math.floor(Date.now() / 1000);
    const jti = `t-${Math.random().toString(36).slice(2)}`;
    const t = signCompact(
      { alg: "ES256", kid: "agent-1", typ: "JWT" },
      { iss: ISSUER, aud: AUD, ...CLAIMS, jti, iat: now, nbf: now, exp: now + 300 },
      key,
    );
    tokens.push(t);
    return t;
  };

  async function connect(auth: Record<string, unknown>, name: string): Promise<Client> {
    const config = join(dir, `${name}.yaml`);
    writeFileSync(config, stringify({ broker: { url: broker.url, auth }, sinks: { dir: join(dir, `${name}-sinks`) } }));
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, "mcp", "--config", config],
      env: childEnv(),
      stderr: "pipe",
    });
    const client = new Client({ name: "claude-code", version: "1.0.0" });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  const ask = (client: Client) =>
    callTool(client, seen, "request_access", {
      entitlement: "demo-api/read",
      intent: { task: "T-1", actions: ["demo.read"] },
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-mcp-jwt-"));
    key = await makeKey("agent-1", "ES256");
    const jwksFile = join(dir, "jwks.json");
    writeFileSync(jwksFile, JSON.stringify({ keys: [key.publicJwk] }));
    const config = buildConfig(
      {
        dataDir: join(dir, "data"),
        server: { listen: "127.0.0.1:0" },
        logging: { level: "silent" },
        identities: {},
        authenticators: [
          {
            type: "oidc",
            name: "agents",
            issuer: ISSUER,
            audience: AUD,
            jwks: { file: jwksFile },
            algorithms: ["ES256"],
            rules: [
              {
                name: "support-agent",
                match: { agent: "support" },
                identity: "support-agent",
                kind: "agent",
                owner: "team-support",
                groups: ["agents"],
              },
            ],
          },
        ],
        targets: {
          "demo-api": {
            type: "token",
            audience: "https://demo-api.test",
            entitlements: { read: { scopes: ["demo.read"], defaultDuration: "5m", maxDuration: "1h" } },
          },
        },
        access: [{ groups: ["agents"], entitlements: ["demo-api/read"] }],
      },
      "mcp workload token test",
    );
    broker = await startBroker(config, { logger: silentLogger() });
  });
  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a token file is read for every call: an unchanged one is refused as a replay, a rotated one works", async () => {
    const file = join(dir, "agent.jwt");
    writeFileSync(file, token(), { mode: 0o600 });
    const client = await connect({ tokenFile: file }, "file");
    const first = await ask(client);
    expect(first.isError, first.text).toBe(false);
    expect(first.data).toMatchObject({ status: "active", entitlement: "demo-api/read" });
    const done = await callTool(client, seen, "complete_access", { grantId: first.data.grantId });
    expect(done.data).toMatchObject({ removed: true });

    const replayed = await ask(client);
    expect(replayed).toMatchObject({ isError: true, data: { error: { code: "token_replayed", source: "broker" } } });

    writeFileSync(file, token(), { mode: 0o600 }); // the platform rotates the projected token
    const rotated = await ask(client);
    expect(rotated.isError, rotated.text).toBe(false);
    await callTool(client, seen, "complete_access", { grantId: rotated.data.grantId });
  });

  it("a token command makes a fresh token for every request", async () => {
    const script = join(dir, "mint.mjs");
    const input = join(dir, "mint.json");
    writeFileSync(script, MINT);
    writeFileSync(
      input,
      JSON.stringify({ jwk: key.privateKey.export({ format: "jwk" }), iss: ISSUER, aud: AUD, claims: CLAIMS }),
      { mode: 0o600 },
    );
    const client = await connect({ tokenCommand: [process.execPath, script, input] }, "command");
    for (let i = 0; i < 3; i++) {
      const granted = await ask(client);
      expect(granted.isError, granted.text).toBe(false);
      const done = await callTool(client, seen, "complete_access", { grantId: granted.data.grantId });
      expect(done.data).toMatchObject({ removed: true });
    }
  });

  it("--agent-config: the agent's oidc-file token and broker URL; a used token is never resent, a rotated one works", async () => {
    const file = join(dir, "agent-config.jwt");
    writeFileSync(file, token(), { mode: 0o600 });
    const agentSinks = join(dir, "agent-config-sinks");
    mkdirSync(agentSinks);
    const agentConfig = join(dir, "agent.yaml");
    // The agent's own file, as `ephemera agent` would run it; no MCP settings file, no --url, no EPHEMERA_URL.
    writeFileSync(
      agentConfig,
      stringify({
        broker: { url: broker.url },
        auth: { type: "oidc-file", path: "agent-config.jwt" },
        credentials: { demo: { entitlement: "demo-api/read", sink: { path: join(agentSinks, "demo.env") } } },
      }),
    );
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, "mcp", "--agent-config", agentConfig, "--sink-dir", join(dir, "agent-config-mcp")],
      env: childEnv(),
      stderr: "pipe",
    });
    const logged: string[] = [];
    transport.stderr?.on("data", (chunk: Buffer) => logged.push(chunk.toString("utf8")));
    const client = new Client({ name: "claude-code", version: "1.0.0" });
    await client.connect(transport);
    clients.push(client);

    const first = await ask(client);
    expect(first.isError, first.text).toBe(false);
    expect(first.data).toMatchObject({ status: "active", entitlement: "demo-api/read" });
    const sinkPath = (first.data.sink as { path: string }).path;
    const issued = [readEnvSink(sinkPath).EPHEMERA_ACCESS_TOKEN ?? ""];
    expect(issued[0]).toMatch(/^ey/);
    const done = await callTool(client, seen, "complete_access", { grantId: first.data.grantId });
    expect(done.data).toMatchObject({ removed: true });

    // The file was not rotated: the agent's source refuses to resend the token (the broker never sees a replay).
    const unchanged = await ask(client);
    expect(unchanged).toMatchObject({ isError: true, data: { error: { code: "auth_unavailable" } } });

    writeFileSync(file, token(), { mode: 0o600 }); // the platform rotates the token
    const rotated = await ask(client);
    expect(rotated.isError, rotated.text).toBe(false);
    expect(rotated.data.grantId).not.toBe(first.data.grantId);
    issued.push(readEnvSink(sinkPath).EPHEMERA_ACCESS_TOKEN ?? "");
    expect(issued[1]).toMatch(/^ey/);
    expect(issued[1]).not.toBe(issued[0]);
    const ended = await callTool(client, seen, "complete_access", { grantId: rotated.data.grantId });
    expect(ended.data).toMatchObject({ removed: true });

    for (const secret of [...issued, ...tokens]) {
      for (const result of seen) expect(result.includes(secret)).toBe(false);
      expect(logged.join("").includes(secret)).toBe(false);
    }
    expect(logged.join("")).toContain(`token file ${file}`); // the log says where the identity comes from
  });

  it("a bad agent configuration stops ephemera mcp at start, naming the flag or key, the file and the problem", () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, [CLI, "mcp", ...args], { env: childEnv(), input: "", encoding: "utf8" });

    const missing = join(dir, "no-such-agent.yaml");
    const unread = run(["--agent-config", missing]);
    expect(unread.status).toBe(2);
    expect(unread.stderr).toContain(`--agent-config: invalid agent configuration in ${missing}`);
    expect(unread.stderr).toContain("cannot read the file: ENOENT");

    const invalid = join(dir, "invalid-agent.yaml");
    writeFileSync(
      invalid,
      stringify({
        broker: { url: broker.url },
        auth: { type: "oidc-file" },
        credentials: { demo: { entitlement: "demo-api/read", sink: { path: join(dir, "unused.env") } } },
      }),
    );
    const settings = join(dir, "mcp-with-agent.yaml");
    writeFileSync(settings, stringify({ broker: { auth: { agentConfig: "invalid-agent.yaml" } } }));
    const refused = run(["--config", settings]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(`broker.auth.agentConfig: invalid agent configuration in ${invalid}`);
    expect(refused.stderr).toContain("auth.path: required for auth type oidc-file");
  });

  it("no workload token reached a tool result", () => {
    expect(tokens.length).toBe(4);
    for (const t of tokens) for (const result of seen) expect(result.includes(t)).toBe(false);
  });
});
