// The web console in Debian's Chromium, driven by playwright-core, against a real broker child process with the demo
// policies: sign in, approve a pending request, watch the grant count down, revoke it, read its timeline and removal
// evidence; approve with the keyboard alone; and check that every main page renders.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSOLE_CSP } from "../src/http/console/static.js";
import { generateApiKey } from "../src/identity/api-keys.js";
import { type BrokerKeys, createProcessBroker, type ProcessBroker } from "./support/process-broker.js";

const CHROMIUM = "/usr/bin/chromium";
const REPO_ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const available = existsSync(CHROMIUM);
const required = process.env.CI === "true";
// Browser steps wait on a real broker and a real browser; this bounds a hang, it measures nothing.
const STEP_MS = 15_000;
/** Set CONSOLE_SCREENSHOTS to a directory to keep the screenshots the render check takes. */
const SCREENSHOTS = process.env.CONSOLE_SCREENSHOTS;

/**
 * The demo's identities: a workload (group demo, owned by team-demo), an approver and an admin; and a batch service
 * account (group demo, owned by team-batch) that the inventory test offboards.
 */
function demoDocument(
  base: Record<string, unknown>,
  keys: BrokerKeys,
  batch: ReturnType<typeof generateApiKey>,
): Record<string, unknown> {
  const keyOf = (k: ReturnType<typeof generateApiKey>) => [{ id: k.keyId, hash: k.hash }];
  const { access: _access, ...rest } = base;
  return {
    ...rest,
    identities: {
      "demo-workload": { kind: "workload", owner: "team-demo", groups: ["demo"], apiKeys: keyOf(keys.ci) },
      "demo-approver": { kind: "human", owner: "security-team", groups: ["approvers"], apiKeys: keyOf(keys.other) },
      admin: { kind: "human", owner: "security-team", admin: true, apiKeys: keyOf(keys.admin) },
      "demo-batch": { kind: "service_account", owner: "team-batch", groups: ["demo"], apiKeys: keyOf(batch) },
    },
    targets: {
      "demo-api": {
        type: "token",
        audience: "https://demo-api.example",
        entitlements: {
          read: { scopes: ["demo.read"], defaultDuration: "15m", maxDuration: "1h" },
          write: { scopes: ["demo.read", "demo.write"], defaultDuration: "5m", maxDuration: "15m", risk: "medium" },
          admin: { scopes: ["demo.read", "demo.write", "demo.admin"], defaultDuration: "10m", maxDuration: "1h" },
        },
      },
    },
    policies: { dir: join(REPO_ROOT, "examples", "policies"), watch: false },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: API answers are read loosely; the assertions check them
type Json = any;

interface Drawn {
  width: number;
  colours: number;
  inkShare: number;
}

/** Runs in a blank page (no CSP): decodes a PNG and counts its colours and the share of non-white pixels. */
const ANALYSE_PNG = `async (data) => {
  const image = new Image();
  image.src = "data:image/png;base64," + data;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const pixels = context.getImageData(0, 0, image.width, image.height).data;
  const colours = new Set();
  let ink = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    colours.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
    if (pixels[i] + pixels[i + 1] + pixels[i + 2] < 600) ink++;
  }
  return { width: image.width, colours: colours.size, inkShare: ink / (pixels.length / 4) };
}`;

describe.skipIf(!available && !required)("the web console in Chromium", () => {
  let broker: ProcessBroker;
  let browser: BrowserContext;
  let profile: string;
  let keys: { workload: string; approver: string; admin: string; batch: string };

  beforeAll(async () => {
    if (!available) throw new Error(`Chromium is missing at ${CHROMIUM} (apt-get install -y chromium); CI requires it`);
    const made: BrokerKeys = { ci: generateApiKey(), other: generateApiKey(), admin: generateApiKey() };
    const batch = generateApiKey();
    broker = await createProcessBroker({ keys: made, configure: (doc) => demoDocument(doc, made, batch) });
    await broker.start();
    keys = { workload: made.ci.key, approver: made.other.key, admin: made.admin.key, batch: batch.key };
    profile = mkdtempSync(join(tmpdir(), "ephemera-chromium-"));
    // A fresh profile directory (playwright passes it as --user-data-dir); one browser, cookies cleared per test.
    browser = await chromium.launchPersistentContext(profile, {
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
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function api(key: string, method: string, path: string, body?: unknown) {
    const response = await fetch(`${broker.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Json };
  }

  async function pendingWrite(justification: string): Promise<string> {
    const made = await api(keys.workload, "POST", "/v1/requests", {
      entitlement: "demo-api/write",
      duration: "10m",
      justification,
      intent: { task: "DEPLOY-1", actions: ["tickets.update"], description: "deploy the release" },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(202);
    return made.body.request.id as string;
  }

  /** A fresh browser context (no cookies) on /ui, with CSP violations and page errors collected. */
  async function openConsole(): Promise<{ page: Page; problems: string[] }> {
    await browser.clearCookies();
    const page = await browser.newPage();
    page.setDefaultTimeout(STEP_MS);
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(e.message));
    await page.goto(`${broker.url}/ui/`);
    return { page, problems };
  }

  /** Screenshots the page and checks, in a blank page without CSP, that it is not blank. */
  async function expectDrawn(page: Page, name: string): Promise<void> {
    const png = await page.screenshot({ fullPage: false });
    if (SCREENSHOTS) {
      mkdirSync(SCREENSHOTS, { recursive: true });
      writeFileSync(join(SCREENSHOTS, `${name}.png`), png);
    }
    const analysis = await browser.newPage();
    try {
      const drawn = await analysis.evaluate<Drawn>(`(${ANALYSE_PNG})(${JSON.stringify(png.toString("base64"))})`);
      expect(drawn.width, name).toBe(1280);
      expect(drawn.colours, name).toBeGreaterThan(20);
      expect(drawn.inkShare, name).toBeGreaterThan(0.02);
    } finally {
      await analysis.close();
    }
  }

  async function signIn(page: Page, key: string): Promise<void> {
    await page.getByLabel("API key").fill(key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Sign out" }).waitFor();
  }

  it("serves /ui under a strict CSP and keeps the key out of browser storage", async () => {
    const response = await fetch(`${broker.url}/ui/`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("default-src 'self'");
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
    const html = await response.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect(html).not.toMatch(/https?:\/\//); // nothing from another origin

    const { page, problems } = await openConsole();
    await signIn(page, keys.approver);
    const stored = await page.evaluate<string>(
      "JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })",
    );
    expect(stored).not.toContain(keys.approver);
    const cookies = await browser.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: "ephemera_session", httpOnly: true, sameSite: "Strict" });
    expect(cookies[0]?.value).not.toContain(keys.approver);
    expect(await page.evaluate<string>("document.cookie")).toBe(""); // HttpOnly: scripts cannot read it
    expect(problems).toEqual([]);
    await page.close();
  });

  it("approves a pending request, shows the grant counting down, revokes it and shows its timeline with removal evidence", async () => {
    const requestId = await pendingWrite("ship the release");

    // The approver sees exactly what they approve.
    const approver = await openConsole();
    await signIn(approver.page, keys.approver);
    const card = approver.page.locator(`article[data-request="${requestId}"]`);
    await card.waitFor();
    const text = await card.innerText();
    for (const shown of [
      "demo-workload",
      "team-demo",
      "demo-api/write",
      "10 min",
      "ship the release",
      "DEPLOY-1",
      "tickets.update",
      "demo-write",
      "1 from approvers; 0 so far",
    ]) {
      expect(text).toContain(shown);
    }
    await card.getByLabel("Comment (optional)").fill("looks right");
    await card.getByRole("button", { name: "Approve" }).click();
    await approver.page.getByRole("status").filter({ hasText: "Approved demo-api/write" }).waitFor();
    await card.waitFor({ state: "detached" });
    const approved = await api(keys.workload, "GET", `/v1/requests/${requestId}`);
    expect(approved.body.request.state).toBe("approved");
    expect(approved.body.request.approvals[0]).toMatchObject({ approver: "demo-approver", note: "looks right" });
    await approver.page.close();

    // An admin watches the grant appear once the workload collects its credential.
    const admin = await openConsole();
    await signIn(admin.page, keys.admin);
    await admin.page.getByRole("link", { name: "Active grants" }).click();
    await admin.page.getByRole("heading", { name: "Active grants" }).waitFor();
    const collected = await api(keys.workload, "POST", `/v1/requests/${requestId}/credential`);
    expect(collected.status, JSON.stringify(collected.body)).toBe(201);
    const grantId = collected.body.grant.id as string;
    const row = admin.page.locator(`tr[data-grant="${grantId}"]`);
    await row.waitFor(); // the page refreshes itself
    const countdown = row.locator("td.countdown");
    const seconds = async () => {
      const match = /^(\d+)m (\d+)s$/.exec((await countdown.innerText()).trim());
      expect(match, await countdown.innerText()).not.toBeNull();
      return Number(match?.[1]) * 60 + Number(match?.[2]);
    };
    const first = await seconds();
    expect(first).toBeGreaterThan(9 * 60);
    // The countdown rounds up, and the page's clock may read a hair behind the broker's: 10m 1s is still right.
    expect(first).toBeLessThanOrEqual(10 * 60 + 1);
    await expect.poll(seconds, { timeout: STEP_MS }).toBeLessThan(first);

    // Revoke, with confirmation: focus lands on Cancel, the red button confirms.
    await row.getByRole("button", { name: `Revoke ${grantId}` }).click();
    await row.getByRole("button", { name: "Yes, revoke" }).click();
    await admin.page
      .getByRole("status")
      .filter({ hasText: `Revoked ${grantId}` })
      .waitFor();
    await row.waitFor({ state: "detached" });
    const revoked = await api(keys.admin, "GET", `/v1/grants/${grantId}`);
    expect(revoked.body.state).toBe("verified");

    // The timeline: request → decision → approval → issue → revoke → verified, and the evidence.
    await admin.page.goto(`${broker.url}/ui/#/timeline/grant/${grantId}`);
    await admin.page.getByRole("heading", { name: `Timeline of grant ${grantId}` }).waitFor();
    const timeline = admin.page.getByRole("list", { name: "Audit events" });
    await timeline.locator('li[data-code="grant.verified"]').waitFor();
    const codes = await timeline.locator("li").evaluateAll((items) => items.map((i) => i.getAttribute("data-code")));
    const order = ["request.pending", "request.approval_recorded", "grant.issued", "grant.revoked", "grant.verified"]
      .map((c) => codes.indexOf(c))
      .filter((i) => i >= 0);
    expect(codes).toContain("grant.issued");
    expect(codes).toContain("grant.revoked");
    expect(order).toEqual([...order].sort((a, b) => a - b));
    await admin.page.getByRole("heading", { name: "Removal receipt" }).waitFor();
    expect(await admin.page.locator("section.receipt").innerText()).toMatch(/\S/);
    expect(await admin.page.locator(".grant-state").innerText()).toBe("verified");
    expect(admin.problems).toEqual([]);
    await admin.page.close();
  });

  /** What has the focus: tag|id|text. */
  const focusedIn = (page: Page) =>
    page.evaluate<string>(
      `(() => { const e = document.activeElement; return e ? e.tagName.toLowerCase() + "|" + (e.getAttribute("id") ?? "") + "|" + (e.textContent ?? "").trim() : ""; })()`,
    );
  /** The accessible label of what has the focus (aria-label, else its text). */
  const focusedLabel = (page: Page) =>
    page.evaluate<string>(
      `(() => { const e = document.activeElement; return e ? (e.getAttribute("aria-label") ?? (e.textContent ?? "").trim()) : ""; })()`,
    );
  /** Presses Tab until `read` of the focus matches; fails if it never does. */
  async function tabUntil(
    page: Page,
    read: (page: Page) => Promise<string>,
    match: (f: string) => boolean,
    limit = 80,
  ) {
    for (let i = 0; i < limit; i++) {
      if (match(await read(page))) return;
      await page.keyboard.press("Tab");
    }
    throw new Error(`the focus never reached the control (last: ${await read(page)})`);
  }

  it("approves with the keyboard alone", async () => {
    const requestId = await pendingWrite("keyboard approval");
    const { page, problems } = await openConsole();
    const focused = () => focusedIn(page);
    const tabTo = (match: (f: string) => boolean) => tabUntil(page, focusedIn, match);
    await tabTo((f) => f.startsWith("input|api-key|"));
    await page.keyboard.type(keys.approver);
    await page.keyboard.press("Enter");
    const card = page.locator(`article[data-request="${requestId}"]`);
    await card.waitFor();
    await tabTo((f) => f.startsWith(`textarea|req-${requestId}-comment|`));
    await page.keyboard.type("checked by keyboard");
    await page.keyboard.press("Tab");
    expect(await focused()).toBe("button||Approve");
    await page.keyboard.press("Enter");
    await page.getByRole("status").filter({ hasText: "Approved demo-api/write" }).waitFor();
    const approved = await api(keys.workload, "GET", `/v1/requests/${requestId}`);
    expect(approved.body.request.state).toBe("approved");
    expect(approved.body.request.approvals[0]).toMatchObject({ note: "checked by keyboard" });
    // An approver reads the timeline of a request they approved (through GET /v1/requests/{id}/events, not the
    // admin-only audit log).
    await page.goto(`${broker.url}/ui/#/timeline/request/${requestId}`);
    const timeline = page.getByRole("list", { name: "Audit events" });
    await timeline.locator('li[data-code="request.approval_recorded"]').waitFor();
    await timeline.locator('li[data-code="request.pending"]').waitFor();
    expect(problems).toEqual([]);
    await page.close();
  });

  it("renders every main page (screenshots are not blank and show their key elements)", async () => {
    await api(keys.admin, "POST", "/v1/discovery");
    const issued = await api(keys.workload, "POST", "/v1/requests", { entitlement: "demo-api/read", duration: "5m" });
    expect(issued.status).toBe(201);
    const { page, problems } = await openConsole();
    await signIn(page, keys.admin);
    const pages: [string, string, string][] = [
      ["queue", "Approval queue", "h1"],
      ["reviews", "Break-glass reviews due", "h1"],
      ["grants", "Active grants", `tr[data-grant="${issued.body.grant.id}"]`],
      ["standing", "Standing privilege", "table"],
      ["identities", "Identity inventory", 'tr[data-identity="demo-workload"]'],
      ["reports", "Reports", "#tile-issued"],
      [
        `timeline/grant/${issued.body.grant.id}`,
        `Timeline of grant ${issued.body.grant.id}`,
        'li[data-code="grant.issued"]',
      ],
    ];
    for (const [hash, title, key] of pages) {
      await page.goto(`${broker.url}/ui/#/${hash}`);
      await page.getByRole("heading", { name: title, level: 1 }).waitFor();
      await page.locator(key).first().waitFor();
      await page.getByRole("navigation", { name: "Console" }).waitFor();
      await expectDrawn(page, hash.split("/")[0] ?? hash);
    }
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows the privilege report after a grant lifecycle, offboards an identity by keyboard and shows a finished grant's receipt", async () => {
    // A grant lifecycle: issued, completed, removal verified; and a second grant that the offboarding must end.
    const first = await api(keys.batch, "POST", "/v1/requests", { entitlement: "demo-api/read", duration: "5m" });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const finishedId = first.body.grant.id as string;
    const completed = await api(keys.batch, "POST", `/v1/grants/${finishedId}/complete`, { reason: "task done" });
    expect(completed.status, JSON.stringify(completed.body)).toBe(200);
    expect(completed.body.state).toBe("verified");
    const receipt = completed.body.receipt;
    expect(receipt.removed.length).toBeGreaterThan(0);
    expect(receipt.verification.checks.length).toBeGreaterThan(0);
    const second = await api(keys.batch, "POST", "/v1/requests", { entitlement: "demo-api/read", duration: "5m" });
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    const heldId = second.body.grant.id as string;

    const { page, problems } = await openConsole();
    await signIn(page, keys.admin);

    // The report page shows what GET /v1/report answers for its period (the last 7 days).
    await page.getByRole("link", { name: "Reports" }).click();
    await page.locator("#tile-issued").waitFor();
    const from = new Date(Date.now() - 7 * 86_400_000).toISOString();
    const report = await api(keys.admin, "GET", `/v1/report?from=${encodeURIComponent(from)}`);
    expect(report.status, JSON.stringify(report.body)).toBe(200);
    const figures = report.body.grants;
    expect(figures.issued).toBeGreaterThanOrEqual(2);
    expect(figures.verifiedRemoval).toBeGreaterThanOrEqual(1);
    const tile = (id: string) => page.locator(`#${id} .tile-value`).innerText();
    expect(await tile("tile-issued")).toBe(String(figures.issued));
    expect(await tile("tile-ended")).toBe(String(figures.ended));
    expect(await tile("tile-verified")).toBe(String(figures.verifiedRemoval));
    expect(await tile("tile-overruns")).toBe(String(figures.overrunsOver2s));
    expect(await tile("tile-unused")).toBe(String(figures.unused));
    expect(await tile("tile-verified-share")).toBe(`${Math.round(figures.verifiedShare * 1000) / 10} %`);
    expect(await tile("tile-median")).not.toBe("—");
    // The charts drawn from the grants add up to the report's figures.
    const chartTotal = async (id: string) => {
      const title = await page.locator(`#${id} svg > title`).textContent();
      return [...(title ?? "").matchAll(/ (\d+) grants/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    };
    await page.locator("#chart-duration svg").waitFor();
    expect(await chartTotal("chart-duration")).toBe(figures.verifiedRemoval);
    expect(await chartTotal("chart-over-time")).toBe(figures.issued);
    await page.locator("#chart-unused svg").waitFor();
    await page.locator("#chart-overruns svg").waitFor();
    await expectDrawn(page, "report");

    // The inventory: owner and active grant shown; offboard through the confirmation, by keyboard alone.
    await page.getByRole("link", { name: "Identities" }).click();
    const row = page.locator('tr[data-identity="demo-batch"]');
    await row.waitFor();
    const before = await row.innerText();
    for (const shown of ["service_account", "team-batch", "active", heldId]) expect(before).toContain(shown);
    await tabUntil(page, focusedLabel, (f) => f === "Offboard demo-batch");
    await page.keyboard.press("Enter");
    // The focus lands on the reason (after the confirmation renders).
    await expect.poll(() => focusedIn(page), { timeout: STEP_MS }).toBe("input|reason-offboard-demo-batch|");
    expect(await row.getByRole("button", { name: "Yes, offboard" }).isDisabled()).toBe(true); // a reason is required
    await page.keyboard.press("Escape"); // cancels: nothing is offboarded
    await row.getByRole("button", { name: "Offboard demo-batch" }).waitFor();
    expect((await api(keys.admin, "GET", "/v1/identities/demo-batch")).body.status).toBe("active");
    await tabUntil(page, focusedLabel, (f) => f === "Offboard demo-batch");
    await page.keyboard.press("Enter");
    await expect.poll(() => focusedIn(page), { timeout: STEP_MS }).toBe("input|reason-offboard-demo-batch|");
    await page.keyboard.type("batch job retired");
    await page.keyboard.press("Tab");
    expect(await focusedIn(page)).toBe("button||Yes, offboard");
    await page.keyboard.press("Enter");
    const done = page.getByRole("status").filter({ hasText: "Offboarded demo-batch" });
    await done.waitFor();
    expect(await done.innerText()).toContain(heldId);
    await row.locator(".identity-status").filter({ hasText: "offboarded" }).waitFor();
    expect(await row.getByRole("button", { name: "Offboard demo-batch" }).count()).toBe(0);
    const offboarded = await api(keys.admin, "GET", "/v1/identities/demo-batch");
    expect(offboarded.body).toMatchObject({ status: "offboarded", activeGrants: 0 });
    expect(offboarded.body.statusReason).toContain("batch job retired");
    expect(await row.innerText()).toContain(offboarded.body.statusReason);
    const ended = await api(keys.admin, "GET", `/v1/grants/${heldId}`);
    expect(ended.body.state).toBe("verified");
    await expectDrawn(page, "identities");

    // The finished grant's timeline shows its receipt: what was removed and every verification check.
    await page.goto(`${broker.url}/ui/#/timeline/grant/${finishedId}`);
    await page.getByRole("heading", { name: "Removal receipt" }).waitFor();
    const shown = page.locator("section.receipt");
    const removed = await shown.getByRole("list", { name: "Removed" }).innerText();
    for (const handle of receipt.removed as string[]) expect(removed).toContain(handle);
    for (const check of receipt.verification.checks as { check: string; passed: boolean; observed: string }[]) {
      const line = await shown.locator(`tr[data-check="${check.check}"]`).innerText();
      expect(line).toContain("passed");
      expect(line).toContain(check.observed);
    }
    expect(await shown.innerText()).toContain(receipt.sessionsEnded === null ? "not applicable" : "Sessions ended");
    await shown.scrollIntoViewIfNeeded();
    await expectDrawn(page, "receipt");

    // The grant the offboarding ended has its receipt too.
    await page.goto(`${broker.url}/ui/#/timeline/grant/${heldId}`);
    await page.getByRole("heading", { name: `Timeline of grant ${heldId}` }).waitFor();
    await page.getByRole("heading", { name: "Removal receipt" }).waitFor();
    expect(await page.locator(".grant-state").innerText()).toBe("verified");
    expect(problems).toEqual([]);
    await page.close();
  });
});
