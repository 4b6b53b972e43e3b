// `ephemera audit hmac | key | export` and the audit config, against a real listening broker.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditHmac } from "../src/audit/hmac.js";
import { EXIT } from "../src/cli/exit-codes.js";
import { run } from "../src/cli/testing/run-cli.js";
import { buildConfig, type ConfigError } from "../src/config/index.js";
import { generateApiKey } from "../src/identity/index.js";
import { type Broker, startBroker } from "../src/main.js";
import { silentLogger } from "../src/support/logger.js";
import { testConfigDocument } from "./support/broker.js";

let dir: string;
let broker: Broker;
let env: Record<string, string>;
let ciEnv: Record<string, string>;
const HMAC_KEY = "an-audit-hmac-key-from-a-file-0123";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ephemera-audit-cli-"));
  writeFileSync(join(dir, "hmac.key"), `${HMAC_KEY}\n`);
  const keys = { ci: generateApiKey(), other: generateApiKey(), admin: generateApiKey() };
  const doc = {
    ...testConfigDocument(join(dir, "data"), keys),
    server: { listen: "127.0.0.1:0" },
    audit: { hmacKey: { file: join(dir, "hmac.key") }, checkpoints: { every: 1000, interval: "1h" } },
  };
  broker = await startBroker(buildConfig(doc, "audit-cli.test"), { logger: silentLogger() });
  env = { EPHEMERA_URL: broker.url, EPHEMERA_ADMIN_TOKEN: keys.admin.key };
  ciEnv = { EPHEMERA_URL: broker.url, EPHEMERA_TOKEN: keys.ci.key };
  const issued = await run(["request", "demo-api/read", "--json"], ciEnv);
  expect(issued.code, issued.stderr).toBe(0);
});

afterAll(async () => {
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("ephemera audit hmac", () => {
  it("asks the broker, and offline with the key file gives the same tag, which is what the log holds", async () => {
    const online = await run(["audit", "hmac", "127.0.0.1"], env);
    expect(online.code, online.stderr).toBe(0);
    const offline = await run(["audit", "hmac", "127.0.0.1", "--key-file", join(dir, "hmac.key")]);
    expect(offline.stdout).toBe(online.stdout);
    expect(online.stdout.trim()).toBe(new AuditHmac(Buffer.from(HMAC_KEY)).tag("127.0.0.1"));
    const events = await broker.deps.store.listAudit(0, 100);
    const approved = events.find((e) => e.code === "request.approved");
    expect(approved?.data.sourceAddressHmac).toBe(online.stdout.trim());
  });

  it("stands in for the caller's address in a failed authentication, which never holds the address itself", async () => {
    const refused = await fetch(`${broker.url}/v1/grants`, { headers: { authorization: "Bearer not-a-key" } });
    expect(refused.status).toBe(401);
    const failed = (await broker.deps.store.listAudit(0, 1000)).filter((e) => e.code === "auth.failed").at(-1);
    expect(failed?.data).toMatchObject({ sourceAddressHmac: new AuditHmac(Buffer.from(HMAC_KEY)).tag("127.0.0.1") });
    expect(JSON.stringify(failed?.data)).not.toContain("127.0.0.1");
  });

  it("is for admins", async () => {
    expect((await run(["audit", "hmac", "x"], ciEnv)).code).toBe(EXIT.forbidden);
  });

  it("refuses a short key file", async () => {
    writeFileSync(join(dir, "short.key"), "sixteen-chars-ok"); // 16: enough once, too guessable for addresses
    const result = await run(["audit", "hmac", "x", "--key-file", join(dir, "short.key")]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toMatch(/at least 32/);
  });
});

describe("ephemera audit key", () => {
  it("prints the pin and the JWK of the checkpoint key", async () => {
    const result = await run(["audit", "key"], env);
    expect(result.code, result.stderr).toBe(0);
    const [pin, jwk] = result.stdout.trim().split("\n");
    expect(pin).toMatch(/^ed25519:[A-Za-z0-9_-]{43}$/);
    expect(JSON.parse(jwk!)).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA" });
    expect(JSON.parse(jwk!)).not.toHaveProperty("d");
  });
});

describe("GET /v1/audit/checkpoints/latest", () => {
  it("answers the last signed checkpoint, for admins", async () => {
    const written = await broker.audit.checkpointer!.runOnce(true);
    const response = await fetch(`${broker.url}/v1/audit/checkpoints/latest`, {
      headers: { authorization: `Bearer ${env.EPHEMERA_ADMIN_TOKEN}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(written);
    const forbidden = await fetch(`${broker.url}/v1/audit/checkpoints/latest`, {
      headers: { authorization: `Bearer ${ciEnv.EPHEMERA_TOKEN}` },
    });
    expect(forbidden.status).toBe(403);
  });
});

describe("ephemera audit export", () => {
  it("writes every event as a JSON line, with its chain hash", async () => {
    const result = await run(["audit", "export"], env);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const head = await broker.deps.store.auditHead();
    expect(lines.at(-1)).toMatchObject({ seq: head.seq, hash: head.hash });
    expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: head.seq }, (_, i) => i + 1));
  });

  it("in OCSF: Account Change for an issued credential, API Activity for a decision", async () => {
    const result = await run(["audit", "export", "--format", "ocsf", "--since", "1"], env);
    expect(result.code, result.stderr).toBe(0);
    const events = result.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events[0].metadata.sequence).toBe(2);
    const issued = events.find((e) => e.metadata.event_code === "grant.issued");
    expect(issued).toMatchObject({
      class_uid: 3001,
      category_uid: 3,
      activity_id: 1,
      type_uid: 300101,
      severity_id: 1,
      status_id: 1,
      actor: { user: { uid: "ci-deploy" } },
      user: { name: "ci-deploy" },
    });
    const approved = events.find((e) => e.metadata.event_code === "request.approved");
    expect(approved).toMatchObject({
      class_uid: 6003,
      category_uid: 6,
      activity_id: 1,
      api: { operation: "request.approved" },
    });
    expect(typeof approved.time).toBe("number");
  });

  it("--since a time keeps later events; bad values are usage errors", async () => {
    const future = await run(["audit", "export", "--since", "2999-01-01T00:00:00Z"], env);
    expect(future.code).toBe(0);
    expect(future.stdout).toBe("");
    expect((await run(["audit", "export", "--since", "yesterday"], env)).code).toBe(EXIT.usage);
    expect((await run(["audit", "export", "--format", "xml"], env)).code).toBe(EXIT.usage);
  });
});

describe("audit configuration", () => {
  const keys = { ci: generateApiKey(), other: generateApiKey(), admin: generateApiKey() };
  const base = testConfigDocument("/tmp/unused", keys);
  const problems = (audit: unknown) => {
    try {
      buildConfig({ ...base, audit }, "t", {});
      return [];
    } catch (error) {
      return (error as ConfigError).problems ?? [String(error)];
    }
  };

  it("checkpoints by default, every 1000 events or 60 s, into <dataDir>/checkpoints; retention is forever", () => {
    const config = buildConfig(base, "t", {});
    expect(config.audit).toMatchObject({
      checkpoints: { every: 1000, intervalMs: 60_000, sinkDir: "/tmp/unused/checkpoints", webhook: null },
      hmacKey: null,
      stream: null,
      retention: "forever",
    });
  });

  it("names what is wrong", () => {
    expect(problems({ checkpoints: { webhook: "nope" } })).toEqual([
      "audit.checkpoints.webhook: 'nope' is not a notifications.webhooks name",
    ]);
    expect(problems({ checkpoints: { sink: false } })[0]).toMatch(/^audit.checkpoints: with sink: false/);
    expect(problems({ hmacKey: "inline-secret-value-here" })[0]).toMatch(/^audit.hmacKey: must be/);
    expect(problems({ retention: "30d" })[0]).toMatch(/^audit.retention/);
    expect(problems({ stream: { url: "https://x", secretFile: "/nonexistent/file" } })[0]).toMatch(
      /^audit.stream.secretFile: cannot read/,
    );
    expect(problems({ stream: { url: "http://siem.example/in" } })).toEqual([
      "audit.stream.url: must be https (http is allowed only to a loopback address, with allowInsecureLoopback: true)",
    ]);
    expect(problems({ checkpoints: false })).toEqual([]);
  });
});
