// `ephemera exec` and `ephemera server` against a real broker: the grant ends verified whatever way the command exits.
import { EventEmitter } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../src/cli/exit-codes.js";
import { run } from "../src/cli/testing/run-cli.js";
import { EphemeraClient } from "../src/client/index.js";
import { buildConfig } from "../src/config/index.js";
import { generateApiKey } from "../src/identity/index.js";
import { type Broker, startBroker } from "../src/main.js";
import { silentLogger } from "../src/support/logger.js";

let dir: string;
let broker: Broker;
let env: Record<string, string>;
let client: EphemeraClient;
let adminKey: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ephemera-cli-exec-"));
  const key = generateApiKey();
  const admin = generateApiKey();
  adminKey = admin.key;
  const config = buildConfig(
    {
      dataDir: join(dir, "data"),
      server: { listen: "127.0.0.1:0" },
      logging: { level: "silent" },
      identities: {
        "ci-bot": { kind: "pipeline", owner: "team-ci", apiKeys: [{ id: key.keyId, hash: key.hash }] },
        auditor: { kind: "human", owner: "security", admin: true, apiKeys: [{ id: admin.keyId, hash: admin.hash }] },
      },
      targets: {
        "demo-api": {
          type: "token",
          audience: "https://demo-api.test",
          entitlements: { read: { scopes: ["demo.read"], defaultDuration: "5m", maxDuration: "1h" } },
        },
      },
      access: [{ identities: ["ci-bot"], entitlements: ["demo-api/read"] }],
    },
    "cli-exec.test",
  );
  broker = await startBroker(config, { logger: silentLogger() });
  env = { EPHEMERA_URL: broker.url, EPHEMERA_TOKEN: key.key, PATH: process.env.PATH ?? "" };
  client = new EphemeraClient({ url: broker.url, token: key.key });
});

afterAll(async () => {
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

const node = process.execPath;
/** The child reports, in a file, whether it got a token (and which grant), so the test can check both afterwards. */
// Written to a temporary name and renamed, so a reader polling for the file never sees it half-written.
const REPORT = `const fs = require("node:fs"); fs.writeFileSync(process.argv[1] + ".tmp", JSON.stringify({ present: typeof process.env.EPHEMERA_ACCESS_TOKEN === "string" && process.env.EPHEMERA_ACCESS_TOKEN.length > 0, token: process.env.EPHEMERA_ACCESS_TOKEN, grantId: process.env.EPHEMERA_GRANT_ID, brokerKey: process.env.EPHEMERA_TOKEN ?? null })); fs.renameSync(process.argv[1] + ".tmp", process.argv[1]);`;

let n = 0;
async function execChild(tail: string, signals?: EventEmitter) {
  const report = join(dir, `report-${++n}.json`);
  const result = await run(
    [
      "exec",
      "--entitlement",
      "demo-api/read",
      "--duration",
      "5m",
      "--justification",
      "cli test",
      "--",
      node,
      "-e",
      `${REPORT}${tail}`,
      report,
    ],
    env,
    signals,
  );
  const seen = JSON.parse(readFileSync(report, "utf8")) as {
    present: boolean;
    token: string;
    grantId: string;
    brokerKey: string | null;
  };
  return { result, seen, report };
}

async function expectCompleted(seen: { present: boolean; token: string; grantId: string; brokerKey: string | null }) {
  expect(seen.present).toBe(true);
  expect(seen.brokerKey).toBeNull();
  const grant = await client.getGrant(seen.grantId);
  expect(grant).toMatchObject({
    state: "verified",
    removed: true,
    endReason: "completed",
    entitlement: "demo-api/read",
  });
  expect((await client.introspect(seen.token)).active).toBe(false);
}

describe("ephemera exec against a real broker", () => {
  it("completes the grant after the command exits 0", async () => {
    const { result, seen } = await execChild("");
    expect(result).toEqual({ code: EXIT.ok, stdout: "", stderr: "" });
    await expectCompleted(seen);
  });

  it("completes the grant after the command exits 3, and exits 3", async () => {
    const { result, seen } = await execChild("process.exit(3);");
    expect(result.code).toBe(3);
    expect(result.stderr).toBe("");
    await expectCompleted(seen);
  });

  it("completes the grant after the command is killed by SIGTERM, and exits 143", async () => {
    const { result, seen } = await execChild(`process.kill(process.pid, "SIGTERM"); setInterval(() => {}, 1000);`);
    expect(result.code).toBe(128 + 15);
    await expectCompleted(seen);
  });

  it("forwards SIGTERM it receives to the command, waits for it, then completes", async () => {
    const signals = new EventEmitter();
    const report = join(dir, "forward.json");
    const running = run(
      ["exec", "--entitlement", "demo-api/read", "--", node, "-e", `${REPORT} setInterval(() => {}, 1000);`, report],
      env,
      signals,
    );
    for (let i = 0; i < 400 && !existsSync(report); i++) await new Promise((r) => setTimeout(r, 25));
    const seen = JSON.parse(readFileSync(report, "utf8")) as {
      present: boolean;
      token: string;
      grantId: string;
      brokerKey: null;
    };
    expect((await client.getGrant(seen.grantId)).state).toBe("active");
    expect((await client.introspect(seen.token)).active).toBe(true);
    signals.emit("SIGTERM");
    expect((await running).code).toBe(143);
    await expectCompleted(seen);
  });

  it("leaves an intact audit chain that `audit verify` reports OK", async () => {
    const result = await run(["audit", "verify"], { ...env, EPHEMERA_ADMIN_TOKEN: adminKey });
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toMatch(/^OK: audit chain intact \(\d+ events/);
  });
});

describe("ephemera server", () => {
  it("prints the bootstrap banner and stops cleanly on SIGTERM", async () => {
    const serverDir = join(dir, "server");
    const file = join(dir, "ephemera.yaml");
    writeFileSync(
      file,
      [
        `dataDir: ${serverDir}`,
        "server: { listen: 127.0.0.1:0 }",
        "logging: { level: silent }",
        "identities:",
        "  demo-workload: { kind: workload, owner: team-demo, groups: [demo] }",
        "  admin: { kind: human, owner: security, admin: true }",
        "targets:",
        "  demo-api:",
        "    type: token",
        "    audience: https://demo-api.test",
        "    entitlements:",
        "      read: { scopes: [demo.read], defaultDuration: 15m, maxDuration: 1h }",
        "access:",
        "  - { groups: [demo], entitlements: [demo-api/read] }",
        "bootstrap:",
        `  envFile: ${serverDir}/demo.env`,
        "  identity: demo-workload",
        "  admin: admin",
        "",
      ].join("\n"),
    );
    const signals = new EventEmitter();
    let stdout = "";
    const { runCli } = await import("../src/cli/index.js");
    const running = runCli(["node", "ephemera", "server", "--config", file], {
      stdout: (text) => {
        stdout += text;
      },
      stderr: () => undefined,
      env: {},
      signals,
    });
    for (let i = 0; i < 400 && !stdout.includes("Try:"); i++) await new Promise((r) => setTimeout(r, 25));
    expect(stdout).toMatch(/EPHEMERA_TOKEN=ephk_/);
    expect(stdout).toContain(`set -a; . ${serverDir}/demo.env; npx ephemera request demo-api/read --duration 5m`);
    const token = /EPHEMERA_TOKEN=(\S+)/.exec(stdout)?.[1] ?? "";
    expect(readFileSync(join(serverDir, "demo.env"), "utf8")).toContain(`EPHEMERA_TOKEN=${token}`);
    const url = /running at (\S+)\./.exec(stdout)?.[1] ?? "";
    const requested = await run(["request", "demo-api/read", "--json"], { EPHEMERA_URL: url, EPHEMERA_TOKEN: token });
    expect(requested.code).toBe(EXIT.ok);
    signals.emit("SIGTERM");
    expect(await running).toBe(EXIT.ok);
    expect(signals.listenerCount("SIGTERM")).toBe(0);
  });
});

describe("ephemera discover, targets and rotate", () => {
  const admin = () => ({ ...env, EPHEMERA_ADMIN_TOKEN: adminKey });

  it("discover reconciles and prints the report; --last reads it back; a non-admin exits 3", async () => {
    expect((await run(["discover"], env)).code).toBe(EXIT.forbidden);
    const fresh = await run(["discover"], admin());
    expect(fresh).toMatchObject({ code: EXIT.ok, stderr: "" });
    expect(fresh.stdout).toContain("demo-api (token): 0 accounts, 0 held by live grants");
    expect(fresh.stdout).toContain("total: 0 standing accounts (0 admin), 0 survivors removed, 0 targets unreachable");
    const last = await run(["discover", "--last", "--json"], admin());
    expect(last.code).toBe(EXIT.ok);
    expect(JSON.parse(last.stdout).targets[0]).toMatchObject({ target: "demo-api", ok: true });
  });

  it("targets lists health and rotation; rotate rotates, and an unknown target exits 4", async () => {
    const before = await run(["targets"], admin());
    expect(before.stdout).toMatch(/demo-api\s+token\s+yes\s+never/);
    const rotated = await run(["rotate", "demo-api"], admin());
    expect(rotated.code).toBe(EXIT.ok);
    expect(rotated.stdout).toMatch(/^ROTATED demo-api: token signing key rotated/);
    const after = JSON.parse((await run(["targets", "--json"], admin())).stdout);
    expect(after.targets[0].lastRotation).not.toBeNull();
    expect((await run(["rotate", "nope"], admin())).code).toBe(EXIT.notFound);
  });
});
