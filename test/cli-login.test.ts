// `ephemera login` as a person, for real: the built CLI runs the device grant against a real OpenID provider, the
// broker exchanges the ID token for a session kept 0600, and `ephemera approve` then acts as that person; the
// session dies with the person's offboarding; an expired or altered session file, a denied sign-in and an expired
// device code each end with a clear error and a non-zero exit, storing nothing.
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../src/cli/exit-codes.js";
import { EphemeraClient, isPending } from "../src/client/index.js";
import { buildConfig } from "../src/config/load.js";
import { type Broker, startBroker } from "../src/main.js";
import { silentLogger } from "../src/support/logger.js";
import { namedApiKeys } from "./support/broker.js";
import { startTestOidcProvider, type TestOidcProvider } from "./support/oidc-provider.js";

const CLI = join(resolve(fileURLToPath(new URL("..", import.meta.url))), "bin", "ephemera.js");
const SECRET_VARIABLE = "EPHEMERA_TEST_CLI_LOGIN_CONSOLE_SECRET";

const POLICY = `
@id("write") @approval("1 from Group::\\"sre\\"")
permit (principal in Group::"ci", action == Action::"request", resource == Entitlement::"demo-api/write");
@id("approve") permit (principal in Group::"sre", action == Action::"approve", resource in Target::"demo-api");
`;

const DANA = { login: "dana", password: "correct horse", email: "dana@example.test", groups: ["sre"] };
const ERIN = { login: "erin", password: "battery staple", email: "erin@example.test", groups: ["sre"] };

let dir: string;
let idp: TestOidcProvider;
let broker: Broker;
let keys: Record<"ci" | "admin", string>;
let ci: EphemeraClient;
let admin: EphemeraClient;
let home = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ephemera-cli-login-"));
  const policyDir = join(dir, "policies");
  mkdirSync(policyDir);
  writeFileSync(join(policyDir, "main.cedar"), POLICY);
  idp = await startTestOidcProvider({ people: [DANA, ERIN], redirectUris: ["http://127.0.0.1:1/unused"] });
  const named = namedApiKeys(["ci", "admin"] as const);
  keys = named.keys;
  const config = buildConfig(
    {
      dataDir: join(dir, "data"),
      // Each test signs in from one address: the per-source sign-in limit is not what is tested here.
      server: { listen: "127.0.0.1:0", rateLimit: false },
      logging: { level: "silent" },
      identities: {
        "deploy-bot": { kind: "workload", owner: "team-payments", groups: ["ci"], apiKeys: named.configured("ci") },
        root: { kind: "human", admin: true, apiKeys: named.configured("admin") },
      },
      targets: {
        "demo-api": {
          type: "token",
          audience: "https://demo-api.test",
          entitlements: { write: { scopes: ["w"], defaultDuration: "5m", maxDuration: "15m" } },
        },
      },
      policies: { dir: policyDir, watch: false },
      console: {
        signIn: {
          oidc: {
            issuer: idp.issuer,
            clientId: idp.consoleClientId,
            clientSecret: { env: SECRET_VARIABLE },
            cliClientId: idp.cliClientId,
            scopes: ["openid", "email", "profile", "groups"],
          },
        },
      },
    },
    "cli-login.test",
    { ...process.env, [SECRET_VARIABLE]: idp.consoleClientSecret },
  );
  broker = await startBroker(config, { logger: silentLogger() });
  ci = new EphemeraClient({ url: broker.url, token: keys.ci });
  admin = new EphemeraClient({ url: broker.url, token: keys.admin });
}, 60_000);

afterAll(async () => {
  await broker?.close();
  await idp?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Spawned {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exit: Promise<number>;
}

/** The environment of a person at a terminal: no API key, a config folder of their own. */
function personEnv(): Record<string, string> {
  const config = join(dir, `home-${++home}`);
  return {
    PATH: process.env.PATH ?? "",
    HOME: config,
    XDG_CONFIG_HOME: join(config, ".config"),
    EPHEMERA_URL: broker.url,
  };
}
const sessionFileOf = (env: Record<string, string>) => join(env.XDG_CONFIG_HOME ?? "", "ephemera", "session.json");

function cli(args: readonly string[], env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  const spawned: Spawned = {
    child,
    stdout: "",
    stderr: "",
    exit: new Promise((resolveExit) =>
      child.once("exit", (code, signal) => resolveExit(code ?? 128 + (signal ? 9 : 0))),
    ),
  };
  child.stdout?.on("data", (chunk: Buffer) => {
    spawned.stdout += String(chunk);
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    spawned.stderr += String(chunk);
  });
  return spawned;
}

async function run(args: readonly string[], env: Record<string, string>) {
  const spawned = cli(args, env);
  const code = await spawned.exit;
  return { code, stdout: spawned.stdout, stderr: spawned.stderr };
}

/** Waits until the login prints where to go; answers the complete URI and the user code it showed. */
async function promptOf(login: Spawned): Promise<{ complete: string; userCode: string; uri: string }> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const shown = /open (\S+) and enter the code (\S+)\nor open (\S+)\n/.exec(login.stdout);
    if (shown) return { uri: shown[1] ?? "", userCode: shown[2] ?? "", complete: shown[3] ?? "" };
    if (login.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no device prompt from ephemera login:\n${login.stdout}\n${login.stderr}`);
}

/** `ephemera login` completed in the browser by `person`; answers the environment that now holds the session. */
async function loggedIn(person: { login: string; password: string }): Promise<Record<string, string>> {
  const env = personEnv();
  const login = cli(["login"], env);
  const { complete } = await promptOf(login);
  await idp.approveDevice(complete, person.login, person.password);
  const code = await login.exit;
  expect({ code, stderr: login.stderr }).toEqual({ code: EXIT.ok, stderr: "" });
  return env;
}

async function pendingRequest(): Promise<string> {
  const result = await ci.request({ entitlement: "demo-api/write", duration: "5m", justification: "deploy" });
  if (!isPending(result)) throw new Error("expected the request to wait for an approver");
  return result.request.id;
}

/** Presses the device page's abort button as the person would, with the provider's cookies and anti-CSRF field. */
async function denyDevice(verificationUriComplete: string): Promise<void> {
  const jar = new Map<string, string>();
  const send = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const response = await fetch(new URL(url, idp.issuer), {
      ...init,
      redirect: "manual",
      headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
    });
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(";")[0] ?? "";
      const at = pair.indexOf("=");
      if (at > 0) jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return response;
  };
  let page = await send(verificationUriComplete);
  for (let hops = 0; hops < 10 && page.status >= 300 && page.status < 400; hops++) {
    page = await send(page.headers.get("location") ?? "");
  }
  const html = await page.text();
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no confirm form on the device page (${page.status})`);
  const fields = Object.fromEntries(
    [...html.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)].map((m) => [
      m[1] ?? "",
      m[2] ?? "",
    ]),
  );
  const answer = await send(action.replaceAll("&amp;", "&"), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ ...fields, abort: "yes" }).toString(),
  });
  expect(answer.status).toBeLessThan(500);
}

describe("ephemera login for people", () => {
  it("signs a person in with the device grant; `ephemera approve` then acts as them", async () => {
    const env = await loggedIn(DANA);
    const file = sessionFileOf(env);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, "utf8")) as {
      sessions: Record<string, { token: string; identity: string; issuer: string; expiresAt: string }>;
    };
    const session = stored.sessions[broker.url];
    expect(session).toMatchObject({ identity: "dana@example.test", issuer: idp.issuer });
    // The broker's session only: no ID, access or refresh token of the provider is kept.
    expect(Object.keys(session ?? {}).sort()).toEqual(["expiresAt", "identity", "issuer", "token"]);
    expect(session?.token.split(".")).toHaveLength(1);

    const id = await pendingRequest();
    const approved = await run(["approve", id], env);
    expect(approved.stderr).toBe("");
    expect(approved.code).toBe(EXIT.ok);
    expect(approved.stdout).toMatch(/approved: quorum met/);
    const view = await ci.getRequest(id);
    expect(view.request.approvals.map((a) => a.approver)).toEqual(["dana@example.test"]);
    // What the login printed and the approve wrote carry no session token.
    expect(approved.stdout + approved.stderr).not.toContain(session?.token);
  });

  it("the stored session dies with the person's offboarding: later commands fail, naming the identity offboarded", async () => {
    const env = await loggedIn(ERIN);
    const id = await pendingRequest();
    await admin.offboardIdentity("erin@example.test", "left the company");
    const refused = await run(["approve", id], env);
    expect(refused.code).toBe(EXIT.forbidden);
    expect(refused.stderr).toMatch(/identity 'erin@example.test' is offboarded \(identity_inactive\)/);
    expect(refused.stderr).not.toMatch(/login again/);
    expect((await ci.getRequest(id)).request.state).toBe("pending");
    const listed = await run(["requests", "--pending"], env);
    expect(listed.code).toBe(EXIT.forbidden);

    // Signing in again at the provider does not bring them back: the broker refuses, and nothing is stored.
    const fresh = personEnv();
    const login = cli(["login"], fresh);
    await idp.approveDevice((await promptOf(login)).complete, ERIN.login, ERIN.password);
    expect(await login.exit).toBe(EXIT.forbidden);
    expect(login.stderr).toMatch(/the broker refused the sign-in: .*offboarded.*\(identity_inactive\)/);
    expect(existsSync(sessionFileOf(fresh))).toBe(false);
  });

  it("refuses an expired session file without sending it, and an altered one the broker does not know", async () => {
    const env = await loggedIn(DANA);
    const file = sessionFileOf(env);
    const stored = JSON.parse(readFileSync(file, "utf8")) as { sessions: Record<string, Record<string, string>> };
    const session = stored.sessions[broker.url] ?? {};
    const write = (over: Record<string, string>) =>
      writeFileSync(file, JSON.stringify({ ...stored, sessions: { [broker.url]: { ...session, ...over } } }), {
        mode: 0o600,
      });

    write({ expiresAt: new Date(Date.now() - 1000).toISOString() });
    const expired = await run(["requests", "--pending"], env);
    expect(expired.code).toBe(EXIT.forbidden);
    expect(expired.stderr).toMatch(/expired at .*run ephemera login again/);

    const token = session.token ?? "";
    write({ token: `${token.slice(0, -2)}${token.endsWith("AA") ? "BB" : "AA"}` });
    const altered = await run(["requests", "--pending"], env);
    expect(altered.code).toBe(EXIT.forbidden);
    expect(altered.stderr).toMatch(/run ephemera login again/);

    write({});
    chmodSync(file, 0o644);
    const loose = await run(["requests", "--pending"], env);
    expect(loose.code).toBe(EXIT.usage);
    expect(loose.stderr).toMatch(/readable by others/);
  });

  it("ends with a clear error and stores nothing when the person denies the sign-in", async () => {
    const env = personEnv();
    const login = cli(["login"], env);
    const { complete } = await promptOf(login);
    await denyDevice(complete);
    const code = await login.exit;
    expect(code).toBe(EXIT.forbidden);
    expect(login.stderr).toMatch(/denied at the identity provider/);
    expect(existsSync(sessionFileOf(env))).toBe(false);
  });

  it("ends with a clear error and stores nothing when the device code expires", async () => {
    const env = personEnv();
    const login = cli(["login"], env);
    const { userCode } = await promptOf(login);
    // The provider's own record of the code, made to expire now: its token endpoint then answers expired_token.
    const code = await idp.provider.DeviceCode.findByUserCode(userCode.replace(/[^A-Z]/gi, "").toUpperCase(), {
      ignoreExpiration: true,
    });
    if (!code) throw new Error("the provider does not know the code the CLI showed");
    code.exp = Math.floor(Date.now() / 1000) - 1;
    await code.save();
    const exit = await login.exit;
    expect(exit).toBe(EXIT.forbidden);
    expect(login.stderr).toMatch(/device code expired.*run ephemera login again/);
    expect(existsSync(sessionFileOf(env))).toBe(false);
  });

  it("logout ends the session at the broker and forgets it", async () => {
    const env = await loggedIn(DANA);
    const file = sessionFileOf(env);
    const token = (JSON.parse(readFileSync(file, "utf8")) as { sessions: Record<string, { token: string }> }).sessions[
      broker.url
    ]?.token;
    const out = await run(["logout"], env);
    expect(out).toMatchObject({ code: EXIT.ok, stderr: "" });
    expect(existsSync(file)).toBe(false);
    const answer = await fetch(`${broker.url}/v1/requests?state=pending`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(answer.status).toBe(401);
    const again = await run(["requests", "--pending"], env);
    expect(again.code).toBe(EXIT.usage);
    expect(again.stderr).toMatch(/run ephemera login/);
  });

  /** Waits until `login --browser` prints the provider's authorization URL. */
  async function authorizationUrlOf(login: Spawned): Promise<URL> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const shown = /open this page in a browser on this machine:\n(\S+)\n/.exec(login.stdout);
      if (shown) return new URL(shown[1] ?? "");
      if (login.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no authorization URL from ephemera login --browser:\n${login.stdout}\n${login.stderr}`);
  }

  it("--browser signs in with the code grant and PKCE to a loopback redirect; a stray request to it changes nothing", async () => {
    const env = personEnv();
    const login = cli(["login", "--browser"], env);
    const sent = await authorizationUrlOf(login);
    expect(sent.origin).toBe(idp.issuer);
    expect(sent.searchParams.get("code_challenge_method")).toBe("S256");
    expect(sent.searchParams.get("client_id")).toBe(idp.cliClientId);
    const redirect = new URL(sent.searchParams.get("redirect_uri") ?? "");
    expect(redirect.hostname).toBe("127.0.0.1");
    expect(redirect.port).not.toBe("");

    const back = await idp.authorize(sent.toString(), DANA.login, DANA.password);
    expect(back.origin + back.pathname).toBe(redirect.toString());
    // Another local process guessing at the callback, without this sign-in's state, is turned away.
    const stray = await fetch(`${redirect}?code=${back.searchParams.get("code")}&state=guess`);
    expect(stray.status).toBe(400);
    const browser = await fetch(back);
    expect(browser.status).toBe(200);
    expect(await browser.text()).toMatch(/Signed in/);

    expect({ code: await login.exit, stderr: login.stderr }).toEqual({ code: EXIT.ok, stderr: "" });
    expect(statSync(sessionFileOf(env)).mode & 0o777).toBe(0o600);
    const listed = await run(["requests", "--pending", "--json"], env);
    expect(listed.code).toBe(EXIT.ok);
  });

  it("--browser ends with a clear error and stores nothing when the provider redirects back with access_denied", async () => {
    const env = personEnv();
    const login = cli(["login", "--browser"], env);
    const sent = await authorizationUrlOf(login);
    const redirect = sent.searchParams.get("redirect_uri") ?? "";
    const state = sent.searchParams.get("state") ?? "";
    const browser = await fetch(
      `${redirect}?error=access_denied&state=${encodeURIComponent(state)}&iss=${encodeURIComponent(idp.issuer)}`,
    );
    expect(browser.status).toBe(400);
    expect(await login.exit).toBe(EXIT.forbidden);
    expect(login.stderr).toMatch(/denied at the identity provider/);
    expect(existsSync(sessionFileOf(env))).toBe(false);
  });
});
