// The agent's auto-auth against a real broker: a projected-token file replaced on disk is picked up and a token is
// never sent for a second request; the GitHub Actions source asks a local fake of the runtime's token endpoint once
// per request with the configured audience; DPoP-bound credentials from the agent and from `ephemera exec --dpop`.
import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { calculateJwkThumbprint, decodeJwt, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAgentConfig, type RunningAgent, startAgent } from "../src/agent/index.js";
import { run } from "../src/cli/testing/run-cli.js";
import { makeKey, type TestKey } from "../src/identity/testing/test-issuer.js";
import { silentLogger } from "../src/support/logger.js";
import {
  type AgentBroker,
  agentServicesUp,
  auditEvents,
  execEnv,
  githubAuthenticator,
  githubToken,
  quiet,
  startAgentBroker,
} from "./support/agent-broker.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The shared harness also makes PostgreSQL and Redis targets.
const up = await agentServicesUp();

describe.skipIf(!up)("agent auto-auth and DPoP", () => {
  let env: AgentBroker;
  let key: TestKey;

  const mint = (audience = "ephemera", jti: string | null = randomUUID()) => githubToken(key, audience, jti);

  beforeAll(async () => {
    key = await makeKey("gh-1", "ES256");
    env = await startAgentBroker({
      maxDuration: "3s",
      authenticators: [githubAuthenticator(key.publicJwk, "gh-agent")],
    });
  });

  afterAll(async () => {
    await env?.close();
  });

  function agentConfig(auth: Record<string, unknown>, extra: Record<string, unknown> = {}, vars = {}) {
    return buildAgentConfig(
      {
        broker: { url: env.url },
        auth,
        credentials: {
          api: { entitlement: "demo-api/read", sink: { path: join(env.dir, `api-${randomUUID()}.env`) } },
        },
        renewal: { grace: "300ms", jitter: 0, retryInitial: "100ms", retryMax: "300ms" },
        ...extra,
      },
      "agent-auth.test",
      vars,
    );
  }

  async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  }

  it("a token file replaced on disk is picked up, and a token already used for a request is never sent again", async () => {
    const tokenFile = join(env.dir, "projected-token");
    writeFileSync(tokenFile, mint("ephemera", null)); // like a Kubernetes token: no jti, single use by hash
    const before = (await auditEvents(env)).length;
    const agent: RunningAgent = await startAgent(agentConfig({ type: "oidc-file", path: tokenFile }), {
      env: {},
      signals: quiet,
      logger: silentLogger(),
    });
    try {
      await agent.ready;
      const first = agent.statuses()[0]?.grantId;
      // At its maximum the grant must rotate, but the file still holds the used token: the agent waits.
      await until("the agent to wait for a fresh token", () =>
        (agent.statuses()[0]?.lastError ?? "").includes("already used for a request"),
      );
      expect(agent.statuses()[0]?.grantId).toBe(first);
      writeFileSync(tokenFile, mint("ephemera", null));
      await until("the rotation with the new token", () => agent.statuses()[0]?.grantId !== first);
      expect(agent.statuses()[0]?.state).toBe("ok");
    } finally {
      expect(await agent.stop()).toBe(0);
    }
    const events = (await auditEvents(env)).slice(before);
    expect(events.filter((e) => e.code === "auth.replayed")).toEqual([]);
    expect(events.filter((e) => e.code === "grant.issued" && e.identityId === "gh-agent")).toHaveLength(2);
  });

  it("GitHub Actions: the runtime's endpoint is asked once per request, with the audience and its bearer", async () => {
    const calls: { audience: string | null; authorization: string | undefined }[] = [];
    const server: Server = createServer((request, response) => {
      const url = new URL(request.url ?? "/", "http://x");
      calls.push({ audience: url.searchParams.get("audience"), authorization: request.headers.authorization });
      if (request.headers.authorization !== "bearer runtime-secret") return void response.writeHead(401).end();
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ value: mint(url.searchParams.get("audience") ?? "") }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const before = (await auditEvents(env)).length;
    const agent = await startAgent(agentConfig({ type: "github-actions", audience: "ephemera" }), {
      env: {
        ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${port}/_apis/token?api-version=2.0`,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: "runtime-secret",
      },
      signals: quiet,
      logger: silentLogger(),
    });
    try {
      await agent.ready;
      const seen = new Set<string>();
      await until("two rotations", () => {
        seen.add(agent.statuses()[0]?.grantId ?? "");
        return seen.size >= 3;
      });
    } finally {
      expect(await agent.stop()).toBe(0);
      server.close();
    }
    const events = (await auditEvents(env)).slice(before);
    const issued = events.filter((e) => e.code === "grant.issued" && e.identityId === "gh-agent").length;
    expect(issued).toBeGreaterThanOrEqual(3);
    expect(calls).toHaveLength(issued);
    expect(calls.every((c) => c.audience === "ephemera" && c.authorization === "bearer runtime-secret")).toBe(true);
    expect(events.filter((e) => e.code === "auth.replayed")).toEqual([]);
  });

  it("GitLab CI: the id_tokens variable asks once; a rotation then waits rather than resending it", async () => {
    const before = (await auditEvents(env)).length;
    const config = agentConfig({ type: "gitlab-ci", variable: "EPHEMERA_ID_TOKEN" }, {}, { EPHEMERA_ID_TOKEN: "set" });
    const agent = await startAgent(config, {
      env: { EPHEMERA_ID_TOKEN: mint() },
      signals: quiet,
      logger: silentLogger(),
    });
    try {
      await agent.ready;
      await until("the refusal to resend", () =>
        (agent.statuses()[0]?.lastError ?? "").includes("a GitLab job's token asks once"),
      );
    } finally {
      await agent.stop();
    }
    const events = (await auditEvents(env)).slice(before);
    expect(events.filter((e) => e.code === "grant.issued" && e.identityId === "gh-agent")).toHaveLength(1);
    expect(events.filter((e) => e.code === "auth.replayed")).toEqual([]);
  });

  it("dpop.keyFile: the agent's tokens are bound to the key it made (cnf.jkt = the key's thumbprint)", async () => {
    const keyFile = join(env.dir, `agent-${randomUUID()}.jwk`);
    const config = agentConfig(
      { type: "api-key", key: { env: "KEY" } },
      { dpop: { keyFile, create: true } },
      {
        KEY: env.keys.agent,
      },
    );
    const agent = await startAgent(config, { env: { KEY: env.keys.agent }, signals: quiet, logger: silentLogger() });
    let token = "";
    try {
      await agent.ready;
      const sink = readFileSync(config.credentials[0]?.sink.path ?? "", "utf8");
      token = /^EPHEMERA_ACCESS_TOKEN='([^']+)'/m.exec(sink)?.[1] ?? "";
    } finally {
      await agent.stop();
    }
    const jwk = JSON.parse(readFileSync(keyFile, "utf8")) as JWK;
    const { d: _private, ...publicJwk } = jwk;
    expect(decodeJwt(token).cnf).toEqual({ jkt: await calculateJwkThumbprint(publicJwk, "sha256") });
  });

  it("ephemera exec --dpop binds the command's token to the key file (created 0600 when absent)", async () => {
    const keyFile = join(env.dir, `exec-${randomUUID()}.jwk`);
    const out = join(env.dir, `exec-${randomUUID()}.txt`);
    const result = await run(
      [
        "exec",
        "--dpop",
        keyFile,
        "--entitlement",
        "demo-api/read",
        "--",
        process.execPath,
        "-e",
        `require("node:fs").writeFileSync(${JSON.stringify(out)}, process.env.EPHEMERA_ACCESS_TOKEN ?? "")`,
      ],
      execEnv(env),
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const { statSync } = await import("node:fs");
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const { d: _private, ...publicJwk } = JSON.parse(readFileSync(keyFile, "utf8")) as JWK;
    expect(decodeJwt(readFileSync(out, "utf8")).cnf).toEqual({
      jkt: await calculateJwkThumbprint(publicJwk, "sha256"),
    });
  });
});
