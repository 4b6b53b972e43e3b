// The integrations/ folder as files: Kubernetes manifests, the GitHub composite action (run against a fake Actions
// token endpoint and a real broker), the GitLab snippet and the systemd unit; every embedded agent config must pass
// the agent's schema, and the broker's trust-rule fragment the broker's.

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { agentSchemaProblems } from "../src/agent/index.js";
import { buildConfig } from "../src/config/load.js";
import { generateApiKey } from "../src/identity/api-keys.js";
import { makeKey, type TestKey } from "../src/identity/testing/test-issuer.js";
import {
  type AgentBroker,
  agentServicesUp,
  githubAuthenticator,
  githubToken,
  startAgentBroker,
} from "./support/agent-broker.js";
import { testConfigDocument } from "./support/broker.js";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const INTEGRATIONS = join(ROOT, "integrations");
const read = (path: string) => readFileSync(join(INTEGRATIONS, path), "utf8");

// biome-ignore lint/suspicious/noExplicitAny: walking parsed manifests, whose shape each assertion checks
type Doc = Record<string, any>;

function manifests(path: string): Doc[] {
  return parseAllDocuments(read(path)).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as Doc;
  });
}

function podSpec(doc: Doc): Doc {
  return doc.kind === "Job" || doc.kind === "Deployment" ? doc.spec.template.spec : doc.spec;
}

describe("Kubernetes manifests", () => {
  it.each(["kubernetes/sidecar.yaml", "kubernetes/init-container.yaml"])(
    "%s: the agent config passes the schema, its token is the projected one, its sinks are on the shared in-memory volume",
    (file) => {
      const docs = manifests(file);
      for (const doc of docs)
        expect(doc).toMatchObject({
          apiVersion: expect.any(String),
          kind: expect.any(String),
          metadata: { name: expect.any(String) },
        });
      const configMap = docs.find((d) => d.kind === "ConfigMap");
      const agentConfig = parse(configMap?.data["agent.yaml"]);
      expect(agentSchemaProblems(agentConfig)).toEqual([]);
      const workload = docs.find((d) => d.kind === "Deployment" || d.kind === "Job") as Doc;
      const spec = podSpec(workload);
      const agent = [...(spec.initContainers ?? [])].find((c: Doc) => (c.args as string[]).includes("agent"));
      expect(agent).toBeDefined();
      const mountOf = (container: Doc, volume: string) =>
        (container.volumeMounts as Doc[]).find((m) => m.name === volume)?.mountPath as string;
      const volume = (name: string) => (spec.volumes as Doc[]).find((v) => v.name === name) as Doc;

      // The token: a projected service-account token for the broker's audience, where the config reads it.
      const projected = volume("ephemera-token").projected.sources[0].serviceAccountToken;
      expect(projected.audience).toBe("ephemera");
      expect(projected.expirationSeconds).toBeLessThanOrEqual(3600);
      expect(agentConfig.auth).toEqual({
        type: "oidc-file",
        path: `${mountOf(agent, "ephemera-token")}/${projected.path}`,
      });
      expect(agent.args).toEqual(
        expect.arrayContaining(["--config", `${mountOf(agent, "ephemera-config")}/agent.yaml`]),
      );

      // The sinks: on an in-memory emptyDir mounted by the agent (rw) and the app (ro) at the same path.
      expect(volume("credentials").emptyDir.medium).toBe("Memory");
      const app = (spec.containers as Doc[])[0] as Doc;
      const shared = mountOf(agent, "credentials");
      expect(mountOf(app, "credentials")).toBe(shared);
      expect((app.volumeMounts as Doc[]).find((m) => m.name === "credentials")?.readOnly).toBe(true);
      for (const credential of Object.values(agentConfig.credentials) as Doc[]) {
        expect(credential.sink.path.startsWith(`${shared}/`)).toBe(true);
      }
      expect(spec.serviceAccountName).toBe("orders-reporter");
      expect(agent.securityContext.runAsNonRoot).toBe(true);

      if (file.includes("sidecar")) {
        // A native sidecar, started before the app once /healthz passes, stopped after it.
        expect(agent.restartPolicy).toBe("Always");
        const port = Number(agentConfig.health.listen.split(":")[1]);
        expect(agent.startupProbe.httpGet).toMatchObject({ path: "/healthz", port });
        expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(10);
      } else {
        expect(agentConfig.once).toBe(true);
        expect(agent.args).toContain("--once");
        expect(agent.restartPolicy).toBeUndefined();
      }
    },
  );

  it("the broker's trust rule admits system:serviceaccount:payments:orders-reporter and passes the broker's schema", async () => {
    const fragment = parse(read("kubernetes/broker-trust-rule.yaml"));
    const dir = mkdtempSync(join(tmpdir(), "k8s-rule-"));
    const jwks = join(dir, "jwks.json");
    writeFileSync(jwks, JSON.stringify({ keys: [(await makeKey("k8s-1", "RS256")).publicJwk] }));
    const authenticators = fragment.authenticators.map((a: Doc) => ({ ...a, jwks: { file: jwks } }));
    const keys = { ci: generateApiKey(), other: generateApiKey(), admin: generateApiKey() };
    buildConfig({ ...testConfigDocument(dir, keys), authenticators }, "fragment"); // throws ConfigError naming the path
    const rule = authenticators[0].rules[0];
    expect(rule.match.sub).toBe("system:serviceaccount:payments:orders-reporter");
    const sidecar = manifests("kubernetes/sidecar.yaml");
    const sa = sidecar.find((d) => d.kind === "ServiceAccount") as Doc;
    expect(`system:serviceaccount:${sa.metadata.namespace}:${sa.metadata.name}`).toBe(rule.match.sub);
    expect(authenticators[0].audience).toBe("ephemera");
  });
});

describe("GitLab and systemd", () => {
  it("the GitLab jobs declare id_tokens for the broker's audience, and the agent config names that variable", () => {
    const ci = parse(read("gitlab/.gitlab-ci.yml")) as Doc;
    const agentConfig = parse(read("gitlab/agent.yaml"));
    expect(agentSchemaProblems(agentConfig)).toEqual([]);
    for (const job of [ci.migrate, ci.export]) expect(job.id_tokens.EPHEMERA_ID_TOKEN.aud).toBe("ephemera");
    expect(agentConfig.auth).toEqual({ type: "gitlab-ci", variable: "EPHEMERA_ID_TOKEN" });
    expect(ci.export.script.join("\n")).toContain("agent --once --config integrations/gitlab/agent.yaml");
    expect(ci.migrate.script.join("\n")).toContain('EPHEMERA_TOKEN="$EPHEMERA_ID_TOKEN"');
  });

  it("the systemd unit runs the agent with its config, stops it with SIGTERM and time for its shutdown", () => {
    const unit: Record<string, Record<string, string>> = {};
    let section = "";
    for (const line of read("systemd/ephemera-agent.service").split("\n")) {
      const header = /^\[(\w+)\]$/.exec(line);
      if (header) {
        section = header[1] as string;
        unit[section] = {};
      } else if (/^\w+=/.test(line) && section) {
        const [key, ...value] = line.split("=");
        (unit[section] as Record<string, string>)[key as string] = value.join("=");
      }
    }
    const service = unit.Service as Record<string, string>;
    expect(service.ExecStart).toBe("/usr/bin/ephemera agent --config /etc/ephemera/agent.yaml");
    expect(service.KillSignal).toBe("SIGTERM");
    const agentConfig = parse(read("systemd/agent.yaml"));
    expect(agentSchemaProblems(agentConfig)).toEqual([]);
    expect(Number(service.TimeoutStopSec)).toBeGreaterThan(Number.parseInt(agentConfig.shutdown.timeout, 10));
    for (const credential of Object.values(agentConfig.credentials) as Doc[]) {
      expect(credential.sink.path.startsWith(`/run/${service.RuntimeDirectory}/`)).toBe(true);
    }
    expect(agentConfig.auth.key.file).toBe(
      `/run/credentials/ephemera-agent.service/${service.LoadCredential?.split(":")[0]}`,
    );
    expect(unit.Install?.WantedBy).toBe("multi-user.target");
  });
});

const up = await agentServicesUp();

describe.skipIf(!up)("GitHub composite action against a fake Actions token endpoint", () => {
  let env: AgentBroker;
  let key: TestKey;
  let server: Server;
  let tokenUrl: string;
  const calls: { audience: string | null; authorization: string | undefined }[] = [];
  const action = parse(read("github-action/action.yml")) as Doc;

  beforeAll(async () => {
    key = await makeKey("gh-1", "ES256");
    env = await startAgentBroker({ authenticators: [githubAuthenticator(key.publicJwk, "gh-job")] });
    server = createServer((request, response) => {
      const url = new URL(request.url ?? "/", "http://x");
      calls.push({ audience: url.searchParams.get("audience"), authorization: request.headers.authorization });
      if (request.headers.authorization !== "bearer runtime-secret") return void response.writeHead(401).end();
      response
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ value: githubToken(key, url.searchParams.get("audience")) }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/_apis/token?api-version=2.0`;
  });

  afterAll(async () => {
    server?.close();
    await env?.close();
  });

  /** Runs the composite's step as the runner would: its env with `${{ inputs.* }}` filled in, then its `run`. */
  function runStep(inputs: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
    const step = action.runs.steps[0] as Doc;
    const value = (expr: string) =>
      expr
        .replace(
          /\$\{\{\s*inputs\.([\w-]+)\s*\}\}/g,
          (_, name: string) => inputs[name] ?? action.inputs[name]?.default ?? "",
        )
        .replace(/\$\{\{\s*github\.action_path\s*\}\}/g, join(INTEGRATIONS, "github-action"));
    const stepEnv: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      HOME: mkdtempSync(join(tmpdir(), "gh-home-")),
      ACTIONS_ID_TOKEN_REQUEST_URL: tokenUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: "runtime-secret",
    };
    for (const [name, expr] of Object.entries(step.env as Record<string, string>)) stepEnv[name] = value(expr);
    return new Promise((resolveRun) => {
      execFile("bash", ["-c", value(step.run)], { env: stepEnv, timeout: 30_000 }, (error, stdout, stderr) =>
        resolveRun({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  it("exec mode: one token with the audience, the command gets the credential and not the job's token", async () => {
    const before = calls.length;
    const result = await runStep({
      "broker-url": env.url,
      entitlement: "demo-api/read",
      justification: "deploy",
      command:
        'echo "grant=$EPHEMERA_GRANT_ID token=$' +
        "{EPHEMERA_ACCESS_TOKEN:+set} job=$" +
        "{EPHEMERA_TOKEN:-none} rt=$" +
        '{ACTIONS_ID_TOKEN_REQUEST_TOKEN:-none}"',
      ephemera: `${process.execPath} ${join(ROOT, "bin", "ephemera.js")}`,
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const grantId = /grant=(\S+)/.exec(result.stdout)?.[1] ?? "";
    expect(result.stdout).toContain("token=set job=none rt=none");
    expect(calls.slice(before)).toEqual([{ audience: "ephemera", authorization: "bearer runtime-secret" }]);
    const grant = await env.admin.getGrant(grantId);
    expect([grant.identity, grant.state]).toEqual(["gh-job", "verified"]);
  });

  it("agent mode: the agent asks the endpoint itself and supervises the command with the sink written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gh-agent-"));
    const config = join(dir, "agent.yaml");
    const sink = join(dir, "api.env");
    writeFileSync(
      config,
      stringify({
        broker: { url: env.url },
        auth: { type: "github-actions", audience: "ephemera" },
        credentials: { api: { entitlement: "demo-api/read", sink: { path: sink } } },
        logging: { level: "warn" },
      }),
    );
    const before = calls.length;
    const result = await runStep({
      "broker-url": env.url,
      "agent-config": config,
      command: `grep -c EPHEMERA_ACCESS_TOKEN ${sink}; echo "rt=\${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-none}"`,
      ephemera: `${process.execPath} ${join(ROOT, "bin", "ephemera.js")}`,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe("1\nrt=none\n");
    expect(calls.slice(before)).toEqual([{ audience: "ephemera", authorization: "bearer runtime-secret" }]);
  });

  it("without id-token permission the step fails saying so", async () => {
    const step = action.runs.steps[0] as Doc;
    const result = await new Promise<{ code: number; stderr: string }>((r) =>
      execFile(
        "bash",
        [join(INTEGRATIONS, "github-action", "run.sh")],
        { env: { PATH: process.env.PATH ?? "", INPUT_COMMAND: "true" } },
        (error, _o, stderr) => r({ code: error ? Number((error as { code?: number }).code) : 0, stderr }),
      ),
    );
    expect(step.shell).toBe("bash");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("id-token: write");
  });
});
