// `ephemera exec` against a local imitation of the API: the child's environment, exit codes, signals, and that the
// grant is always completed.
import { EventEmitter } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type FakeBroker,
  GOOD_KEY,
  type Handler,
  type ImitationState,
  imitateApi,
  problem,
  startFakeBroker,
} from "../client/testing/fake-broker.js";
import { EXIT } from "./exit-codes.js";
import { run } from "./testing/run-cli.js";

let broker: FakeBroker;
let state: ImitationState;
let env: Record<string, string>;
let dir: string;

async function setup(wrap: (handler: Handler) => Handler = (h) => h): Promise<void> {
  const api = imitateApi();
  state = api.state;
  broker = await startFakeBroker(wrap(api.handler));
  env = {
    EPHEMERA_URL: broker.url,
    EPHEMERA_TOKEN: GOOD_KEY,
    EPHEMERA_ADMIN_TOKEN: "ephk_admin",
    PATH: process.env.PATH ?? "",
  };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ephemera-exec-"));
});
afterEach(async () => {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

const node = process.execPath;
const completions = () => broker.requests.filter((r) => r.url.endsWith("/complete")).map((r) => r.url);

async function waitFor(path: string): Promise<void> {
  for (let i = 0; i < 200 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 25));
  if (!existsSync(path)) throw new Error(`${path} never appeared`);
}

describe("ephemera exec", () => {
  it("runs the command with the credential's env and EPHEMERA_GRANT_ID, but not the broker keys", async () => {
    await setup();
    const out = join(dir, "env.json");
    const script = `require("node:fs").writeFileSync(process.argv[1], JSON.stringify(process.env))`;
    const result = await run(
      ["exec", "--entitlement", "demo-api/read", "--duration", "5m", node, "-e", script, out],
      env,
    );
    expect(result).toEqual({ code: EXIT.ok, stdout: "", stderr: "" });
    const childEnv = JSON.parse(readFileSync(out, "utf8")) as Record<string, string>;
    expect(childEnv.EPHEMERA_ACCESS_TOKEN).toBe("tok-grant1");
    expect(childEnv.EPHEMERA_GRANT_ID).toBe("grant1");
    expect(childEnv.EPHEMERA_URL).toBeUndefined();
    expect(childEnv.EPHEMERA_TOKEN).toBeUndefined();
    expect(childEnv.EPHEMERA_ADMIN_TOKEN).toBeUndefined();
    expect(completions()).toEqual(["/v1/grants/grant1/complete"]);
    expect(state.grants.get("grant1")).toMatchObject({ state: "verified", endReason: "completed" });
  });

  it("withholds every broker secret from the command, whatever the variable's name", async () => {
    await setup();
    const out = join(dir, "env.json");
    const otherKey = `ephk_${"a".repeat(12)}_${"B".repeat(43)}`;
    const script = `require("node:fs").writeFileSync(process.argv[1], JSON.stringify(process.env))`;
    const result = await run(
      ["exec", "--entitlement", "demo-api/read", "--withhold", "CI_JOB_JWT_EPHEMERA", "--", node, "-e", script, out],
      {
        ...env,
        EPHEMERA_APPROVER_TOKEN: "x",
        EPHEMERA_SESSION: "console-session",
        MY_BROKER_KEY: GOOD_KEY,
        AUTH_HEADER: `Bearer ${GOOD_KEY}`,
        SOME_OTHER_KEY: otherKey,
        KEEP_ME: "kept",
        ACTIONS_ID_TOKEN_REQUEST_URL: "https://runtime.example/token",
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: "runtime-bearer",
        CI_JOB_JWT_EPHEMERA: "gitlab-id-token",
      },
    );
    expect(result.code).toBe(EXIT.ok);
    const childEnv = JSON.parse(readFileSync(out, "utf8")) as Record<string, string>;
    const ours = Object.keys(childEnv)
      .filter((name) => name.startsWith("EPHEMERA_"))
      .sort();
    expect(ours).toEqual(["EPHEMERA_ACCESS_TOKEN", "EPHEMERA_EXPIRES_AT", "EPHEMERA_GRANT_ID"]);
    expect(childEnv.MY_BROKER_KEY).toBeUndefined();
    expect(childEnv.AUTH_HEADER).toBeUndefined();
    expect(childEnv.SOME_OTHER_KEY).toBeUndefined();
    // With these a process could mint itself a fresh workload token.
    expect(childEnv.ACTIONS_ID_TOKEN_REQUEST_URL).toBeUndefined();
    expect(childEnv.ACTIONS_ID_TOKEN_REQUEST_TOKEN).toBeUndefined();
    expect(childEnv.CI_JOB_JWT_EPHEMERA).toBeUndefined();
    expect(childEnv.KEEP_ME).toBe("kept");
    expect(JSON.stringify(childEnv)).not.toContain(GOOD_KEY);
  });

  it("--clean-env passes only PATH, HOME, LANG, TZ, TERM, the --env names and the credential", async () => {
    await setup();
    const out = join(dir, "env.json");
    const script = `require("node:fs").writeFileSync(process.argv[1], JSON.stringify(process.env))`;
    const result = await run(
      ["exec", "--entitlement", "demo-api/read", "--clean-env", "--env", "KEEP_ME", "--", node, "-e", script, out],
      { ...env, HOME: "/home/x", TZ: "UTC", KEEP_ME: "kept", DROP_ME: "dropped", EPHEMERA_APPROVER_TOKEN: "x" },
    );
    expect(result.code).toBe(EXIT.ok);
    const childEnv = JSON.parse(readFileSync(out, "utf8")) as Record<string, string>;
    // The platform may add a few variables of its own to any process (none of them ours).
    expect(childEnv).toMatchObject({ HOME: "/home/x", TZ: "UTC", KEEP_ME: "kept", EPHEMERA_GRANT_ID: "grant1" });
    expect(childEnv.DROP_ME).toBeUndefined();
    expect(childEnv.EPHEMERA_APPROVER_TOKEN).toBeUndefined();
    expect(childEnv.EPHEMERA_URL).toBeUndefined();
  });

  it("refuses --env without --clean-env, and a bad variable name", async () => {
    await setup();
    const alone = await run(["exec", "--entitlement", "demo-api/read", "--env", "A", "--", node, "-e", "0"], env);
    expect(alone.code).toBe(EXIT.usage);
    expect(alone.stderr).toContain("--env needs --clean-env");
    const bad = await run(
      ["exec", "--entitlement", "demo-api/read", "--clean-env", "--env", "A=B", "--", node, "-e", "0"],
      env,
    );
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toContain("not a variable name");
    expect(completions()).toEqual([]);
  });

  it("exits with the command's code and still completes the grant", async () => {
    await setup();
    const result = await run(["exec", "--entitlement", "demo-api/read", "--", node, "-e", "process.exit(3)"], env);
    expect(result.code).toBe(3);
    expect(completions()).toHaveLength(1);
  });

  it("exits 128 + n when the command is killed by a signal, and completes the grant", async () => {
    await setup();
    const script = `process.kill(process.pid, "SIGTERM"); setInterval(() => {}, 1000)`;
    const result = await run(["exec", "--entitlement", "demo-api/read", "--", node, "-e", script], env);
    expect(result.code).toBe(143);
    expect(completions()).toHaveLength(1);
  });

  it("forwards SIGTERM to the command, waits for it, then completes", async () => {
    await setup();
    const ready = join(dir, "ready");
    const script = `require("node:fs").writeFileSync(process.argv[1], ""); setInterval(() => {}, 1000)`;
    const signals = new EventEmitter();
    const running = run(["exec", "--entitlement", "demo-api/read", "--", node, "-e", script, ready], env, signals);
    await waitFor(ready);
    expect(completions()).toHaveLength(0);
    signals.emit("SIGTERM");
    expect((await running).code).toBe(143);
    expect(completions()).toHaveLength(1);
    expect(signals.listenerCount("SIGTERM")).toBe(0);
  });

  it("lets a command that handles SIGINT exit cleanly", async () => {
    await setup();
    const ready = join(dir, "ready");
    const script = `process.on("SIGINT", () => process.exit(0)); require("node:fs").writeFileSync(process.argv[1], ""); setInterval(() => {}, 1000)`;
    const signals = new EventEmitter();
    const running = run(["exec", "--entitlement", "demo-api/read", "--", node, "-e", script, ready], env, signals);
    await waitFor(ready);
    signals.emit("SIGINT");
    expect((await running).code).toBe(EXIT.ok);
    expect(completions()).toHaveLength(1);
  });

  it("does not start the command when a signal arrives while the credential is being issued", async () => {
    const signals = new EventEmitter();
    await setup((handler) => async (request) => {
      if (request.url === "/v1/requests") signals.emit("SIGINT");
      return handler(request);
    });
    const marker = join(dir, "ran");
    const script = `require("node:fs").writeFileSync(process.argv[1], "")`;
    const result = await run(
      ["exec", "--entitlement", "demo-api/read", "--", node, "-e", script, marker],
      env,
      signals,
    );
    expect(result.code).toBe(130);
    expect(existsSync(marker)).toBe(false);
    expect(completions()).toHaveLength(1);
  });

  it("exits 127 when the command does not exist, after completing the grant", async () => {
    await setup();
    const result = await run(["exec", "--entitlement", "demo-api/read", "--", join(dir, "no-such-program")], env);
    expect(result.code).toBe(EXIT.commandNotFound);
    expect(result.stderr).toContain("(ENOENT)");
    expect(completions()).toHaveLength(1);
  });

  it("does not run the command when the request is denied", async () => {
    await setup();
    const marker = join(dir, "ran");
    const script = `require("node:fs").writeFileSync(process.argv[1], "")`;
    const result = await run(["exec", "--entitlement", "demo-api/write", "--", node, "-e", script, marker], env);
    expect(result.code).toBe(EXIT.forbidden);
    expect(existsSync(marker)).toBe(false);
  });

  it("warns and exits 1 when ending the grant fails after the command succeeded; keeps a failing code", async () => {
    await setup();
    state.completeReply = problem(500, "internal", "internal error");
    const ok = await run(["exec", "--entitlement", "demo-api/read", "--", node, "-e", ""], env);
    expect(ok.code).toBe(EXIT.error);
    expect(ok.stderr).toBe(
      "warning: could not end grant grant1: internal error (internal); it ends at its expiry (2030-01-01T00:05:00.000Z)\n",
    );
    const failing = await run(["exec", "--entitlement", "demo-api/read", "--", node, "-e", "process.exit(4)"], env);
    expect(failing.code).toBe(4);
  });

  it("accepts a grant that ended while the command ran", async () => {
    await setup();
    const script = `fetch(process.argv[2] + "/v1/grants/" + process.env.EPHEMERA_GRANT_ID + "/revoke", { method: "POST", headers: { authorization: "Bearer " + process.argv[1], "content-type": "application/json" }, body: "{}" }).then((r) => process.exit(r.ok ? 0 : 9))`;
    const result = await run(
      ["exec", "--entitlement", "demo-api/read", "--", node, "-e", script, GOOD_KEY, broker.url],
      env,
    );
    expect(result).toMatchObject({ code: EXIT.ok, stderr: "" });
    expect(state.grants.get("grant1")?.endReason).toBe("revoked");
  });

  it("passes the command's own options through", async () => {
    await setup();
    const out = join(dir, "argv.json");
    const script = `require("node:fs").writeFileSync(process.argv[1], JSON.stringify(process.argv.slice(2)))`;
    const result = await run(
      ["exec", "--entitlement", "demo-api/read", node, "-e", script, out, "--json", "--url", "x"],
      env,
    );
    expect(result.code).toBe(EXIT.ok);
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual(["--json", "--url", "x"]);
  });
});
