// People sign in to the web console through a real OpenID provider's login form, in Debian's Chromium driven by
// playwright-core, against a broker child process with the demo policies: an approver (by the provider's group,
// mapped) approves a pending request; a person outside the approver group sees nothing to approve and is refused
// over the API too; signing out ends the provider's session as well.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestOidcProvider, type TestOidcProvider } from "./support/oidc-provider.js";
import { createProcessBroker, freePort, type ProcessBroker } from "./support/process-broker.js";

const CHROMIUM = "/usr/bin/chromium";
const REPO_ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const available = existsSync(CHROMIUM);
const required = process.env.CI === "true";
// Browser steps wait on a real broker, a real provider and a real browser; this bounds a hang, it measures nothing.
const STEP_MS = 15_000;

// biome-ignore lint/suspicious/noExplicitAny: API answers are read loosely; the assertions check them
type Json = any;

describe.skipIf(!available && !required)("console sign-in with an identity provider, in Chromium", () => {
  let idp: TestOidcProvider;
  let broker: ProcessBroker;
  let browser: BrowserContext;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-oidc-e2e-"));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    idp = await startTestOidcProvider({
      people: [
        { login: "dana", password: "dana-pass", email: "dana@example.test", groups: ["ops-approvers"] },
        { login: "erin", password: "erin-pass", email: "erin@example.test", groups: ["staff"] },
      ],
      redirectUris: [`${url}/v1/sessions/oidc/callback`],
      postLogoutRedirectUris: [`${url}/ui/`],
    });
    const secretFile = join(dir, "client-secret");
    writeFileSync(secretFile, idp.consoleClientSecret, { mode: 0o600 });
    broker = await createProcessBroker({
      port,
      configure: (base) => {
        const { access: _access, identities, ...rest } = base as { access: unknown; identities: Json };
        return {
          ...rest,
          identities: {
            "demo-workload": { ...identities["ci-deploy"], kind: "workload", owner: "team-demo", groups: ["demo"] },
          },
          targets: {
            "demo-api": {
              type: "token",
              audience: "https://demo-api.example",
              entitlements: {
                read: { scopes: ["demo.read"], defaultDuration: "15m", maxDuration: "1h" },
                write: { scopes: ["demo.read", "demo.write"], defaultDuration: "5m", maxDuration: "15m" },
                admin: { scopes: ["demo.admin"], defaultDuration: "10m", maxDuration: "1h" },
              },
            },
          },
          policies: { dir: join(REPO_ROOT, "examples", "policies"), watch: false },
          console: {
            signIn: {
              oidc: {
                name: "Test IdP",
                issuer: idp.issuer,
                clientId: idp.consoleClientId,
                clientSecret: { file: secretFile },
                cliClientId: idp.cliClientId,
                scopes: ["openid", "email", "profile", "groups"],
                groupMapping: { "ops-approvers": "approvers" },
              },
            },
          },
        };
      },
    });
    await broker.start();
    browser = await chromium.launchPersistentContext(join(dir, "profile"), {
      executablePath: CHROMIUM,
      viewport: { width: 1280, height: 900 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await broker?.close();
    await idp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function api(bearer: string, method: string, path: string, body?: unknown) {
    const response = await fetch(`${broker.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${bearer}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Json };
  }

  async function pendingWrite(justification: string): Promise<string> {
    const made = await api(broker.keys.ci, "POST", "/v1/requests", {
      entitlement: "demo-api/write",
      duration: "10m",
      justification,
    });
    expect(made.status, JSON.stringify(made.body)).toBe(202);
    return made.body.request.id as string;
  }

  /** A browser with no cookies signs in through the provider's form; answers the console page, signed in. */
  async function signIn(login: string, password: string): Promise<{ page: Page; problems: string[] }> {
    await browser.clearCookies();
    const page = await browser.newPage();
    page.setDefaultTimeout(STEP_MS);
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(e.message));
    await page.goto(`${broker.url}/ui/`);
    // API-key sign-in is off once the provider is configured: the page offers the provider only.
    await page.getByRole("link", { name: "Sign in with Test IdP" }).click();
    await page.waitForURL((u) => u.origin === idp.issuer);
    await page.getByLabel("Username").fill(login);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Sign out" }).waitFor();
    expect(new URL(page.url()).origin).toBe(broker.url);
    return { page, problems };
  }

  it("signs an approver in through the provider's login form and approves a pending request", async () => {
    const requestId = await pendingWrite("ship the release");
    const { page, problems } = await signIn("dana", "dana-pass");
    await page.locator(".who").filter({ hasText: "dana@example.test" }).waitFor();
    expect(await page.getByLabel("API key").count()).toBe(0);
    // Cookies are not kept apart by port: the provider's (on the same host) are left out here.
    const ours = async () => (await browser.cookies(broker.url)).filter((c) => c.name.startsWith("ephemera"));
    const cookies = await ours();
    expect(cookies.map((c) => c.name)).toStrictEqual(["ephemera_session"]);
    expect(cookies[0]).toMatchObject({ httpOnly: true, sameSite: "Strict" });

    const card = page.locator(`article[data-request="${requestId}"]`);
    await card.waitFor();
    await card.getByRole("button", { name: "Approve" }).click();
    await page.getByRole("status").filter({ hasText: "Approved demo-api/write" }).waitFor();
    const approved = await api(broker.keys.ci, "GET", `/v1/requests/${requestId}`);
    expect(approved.body.request.state).toBe("approved");
    expect(JSON.stringify(approved.body.request.approvals)).toContain("dana@example.test");

    // Signing out ends the broker's session and sends the browser to the provider's end-session page.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL((u) => u.origin === idp.issuer);
    expect(await ours()).toStrictEqual([]);
    expect(problems).toStrictEqual([]);
    await page.close();
  });

  it("shows a person outside the approver group nothing to approve, and refuses their approval over the API", async () => {
    const requestId = await pendingWrite("rotate the keys");
    const { requestHash } = (await api(broker.keys.ci, "GET", `/v1/requests/${requestId}`)).body.request;
    const { page } = await signIn("erin", "erin-pass");
    await page.locator(".who").filter({ hasText: "erin@example.test" }).waitFor();
    await page.getByRole("heading", { name: "Approval queue" }).waitFor();
    await page.getByText("Nothing is waiting for your approval.").waitFor();
    expect(await page.getByRole("button", { name: "Approve" }).count()).toBe(0);

    // The same session, from the page, straight at the API: 403.
    const status = await page.evaluate(
      async ({ id, hash }) => {
        const session = (await (await fetch("/v1/sessions")).json()) as { csrfToken: string };
        const answer = await fetch(`/v1/requests/${id}/approve`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-csrf-token": session.csrfToken },
          body: JSON.stringify({ requestHash: hash }),
        });
        return answer.status;
      },
      { id: requestId, hash: requestHash as string },
    );
    expect(status).toBe(403);
    const still = await api(broker.keys.ci, "GET", `/v1/requests/${requestId}`);
    expect(still.body.request.state).toBe("pending");
    await page.close();
  });
});
