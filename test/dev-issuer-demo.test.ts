// The README's machine-flow quick start, run as a newcomer would: the demo broker starts without the dev issuer (a
// token is a clear 401 until it runs), then the dev issuer serves its keys, mints a token, and `ephemera request` with
// that token gets a credential once; the same token a second time is refused.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const CLI = join(ROOT, "bin", "ephemera.js");

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

function run(args: string[], cwd: string, env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd, env: { ...process.env, ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** Spawns a long-running CLI command and resolves once its output contains `ready`. */
function start(args: string[], cwd: string, ready: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-32_768);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`not ready within 15 s:\n${output}`)), 15_000);
    const check = () => {
      if (output.includes(ready)) {
        clearTimeout(timer);
        done({ child, output: () => output });
      }
    };
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`exited with ${code} before it was ready:\n${output}`));
    });
  });
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.once("exit", () => done());
    child.kill("SIGTERM");
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("machine flow with the dev issuer (README quick start)", () => {
  let dir: string;
  let brokerPort: number;
  let issuerPort: number;
  let broker: ChildProcess | undefined;
  let issuer: ChildProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-demo-"));
    brokerPort = await freePort();
    issuerPort = await freePort();
    // The shipped demo configuration, on free ports so parallel runs do not collide.
    const demo = readFileSync(join(ROOT, "examples", "demo.yaml"), "utf8")
      .replaceAll("127.0.0.1:8720", `127.0.0.1:${brokerPort}`)
      .replaceAll("127.0.0.1:8721", `127.0.0.1:${issuerPort}`);
    writeFileSync(join(dir, "demo.yaml"), demo);
    // The demo's Cedar policies, where its `policies.dir` (relative to where the broker starts) finds them.
    cpSync(join(ROOT, "examples", "policies"), join(dir, "examples", "policies"), { recursive: true });
  });

  afterAll(async () => {
    await stop(broker);
    await stop(issuer);
    rmSync(dir, { recursive: true, force: true });
  });

  it("works end to end: 401 while the issuer is down, a credential once it runs, and a refused replay", async () => {
    broker = (await start(["server", "--config", "demo.yaml"], dir, "Ephemera is running")).child;
    const url = `http://127.0.0.1:${brokerPort}`;
    const issuerUrl = `http://127.0.0.1:${issuerPort}`;
    const mint = async () => {
      const minted = await run(
        [
          "dev-issuer",
          "mint",
          "--issuer",
          issuerUrl,
          "--sub",
          "repo:acme/demo:ref:refs/heads/main",
          "--claim",
          "repository=acme/demo",
          "--claim",
          "ref=refs/heads/main",
        ],
        dir,
      );
      expect(minted.code, minted.stderr).toBe(0);
      return minted.stdout.trim();
    };
    const request = (token: string) =>
      run(["request", "demo-api/read", "--duration", "5m", "--json"], dir, {
        EPHEMERA_URL: url,
        EPHEMERA_TOKEN: token,
      });

    // The broker started without the issuer; a token is refused with a reason, not a crash.
    const early = await request(await mint());
    expect(early.code).toBe(3);
    expect(early.stderr).toContain("signing keys could not be fetched");

    issuer = (await start(["dev-issuer", "serve", "--port", String(issuerPort)], dir, "dev issuer at")).child;
    let granted: { code: number; stdout: string; stderr: string } | undefined;
    let token = "";
    // A failed key fetch is retried after 2 s at the earliest; a bounded number of tries covers that.
    for (let attempt = 0; attempt < 8; attempt++) {
      token = await mint();
      granted = await request(token);
      if (granted.code === 0) break;
      await sleep(1_000);
    }
    expect(granted?.code, granted?.stderr).toBe(0);
    const body = JSON.parse(granted?.stdout ?? "{}");
    expect(body.grant.identity).toBe("demo-pipeline");
    expect(body.credential.fields.token).toMatch(/^eyJ/);

    const replay = await request(token);
    expect(replay.code).toBe(3);
    expect(replay.stderr).toContain("token_replayed");
  });
});
