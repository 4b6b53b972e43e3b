// Webhook delivery against a local HTTP server that records or refuses deliveries: signed bodies, Slack format,
// retries with backoff, dead letters, and an outage that never blocks a decision.
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { WebhookConfig } from "../config/load.js";
import { openSqliteStore, type SqliteStore } from "../storage/sqlite/index.js";
import { ManualClock } from "../support/clock.js";
import { silentLogger } from "../support/logger.js";
import { OutboxNotifier } from "./notifier.js";
import { WebhookDelivery } from "./webhook-delivery.js";

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A local receiver: answers `status()` to each delivery and keeps what it got. */
async function receiver(status: () => number): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      res.statusCode = status();
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, server };
}

const SECRET = "a-shared-webhook-secret-of-some-length";

describe("webhook delivery", () => {
  let dir: string;
  let store: SqliteStore;
  let clock: ManualClock;
  let servers: Server[];
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-webhooks-"));
    store = await openSqliteStore(join(dir, "db.sqlite"));
    clock = new ManualClock();
    servers = [];
  });
  afterEach(async () => {
    for (const s of servers) await new Promise((resolve) => s.close(resolve));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const hookAt = (url: string, extra: Partial<WebhookConfig> = {}): WebhookConfig => ({
    name: "ops",
    url,
    format: "json",
    secret: SECRET,
    events: ["approval_pending", "break_glass", "review_overdue", "removal_failed"],
    maxAttempts: 3,
    timeoutMs: 2000,
    ...extra,
  });

  /** Commits one event to the outbox the way the lifecycle does: with an audit event, in one change set. */
  async function notify(hooks: WebhookConfig[], event: "approval_pending" | "break_glass" = "approval_pending") {
    const writes = new OutboxNotifier(hooks).writes(
      event,
      { requestId: "req_1", identity: "ci", entitlement: "db/write" },
      clock.now(),
    );
    await store.apply({
      writes,
      audit: [
        {
          time: clock.now(),
          code: "request.pending",
          severity: "notice",
          outcome: "success",
          actor: { type: "system", id: "t" },
          requestId: "req_1",
          grantId: null,
          identityId: null,
          data: {},
        },
      ],
    });
    return writes.length;
  }

  const delivery = (hooks: WebhookConfig[], outcomes: string[] = []) =>
    new WebhookDelivery({
      store,
      clock,
      logger: silentLogger(),
      webhooks: hooks,
      retryInitialMs: 1000,
      retryMaxMs: 60_000,
      random: () => 1,
      observe: (outcome) => outcomes.push(outcome),
    });

  it("delivers the event as JSON, signed with HMAC-SHA256 over timestamp and body", async () => {
    const r = await receiver(() => 204);
    servers.push(r.server);
    const hooks = [hookAt(r.url)];
    await notify(hooks);
    expect(await delivery(hooks).runOnce()).toBe(1);
    expect(r.got).toHaveLength(1);
    const { headers, body } = r.got[0]!;
    expect(JSON.parse(body)).toMatchObject({ event: "approval_pending", requestId: "req_1", identity: "ci" });
    const expected = createHmac("sha256", SECRET).update(`${headers["x-ephemera-timestamp"]}.${body}`).digest("hex");
    expect(headers["x-ephemera-signature"]).toBe(`sha256=${expected}`);
    expect(headers["x-ephemera-event"]).toBe("approval_pending");
    expect((await store.listNotifications({ limit: 5 }))[0]).toMatchObject({
      state: "delivered",
      attempts: 1,
      nextAttemptAt: null,
    });
    expect(await delivery(hooks).runOnce()).toBe(0); // delivered once, never again
  });

  it("sends a Slack-compatible { text } message when the webhook asks for it", async () => {
    const r = await receiver(() => 200);
    servers.push(r.server);
    const hooks = [hookAt(r.url, { format: "slack" })];
    await notify(hooks, "break_glass");
    await delivery(hooks).runOnce();
    const sent = JSON.parse(r.got[0]!.body) as { text: string };
    expect(Object.keys(sent)).toEqual(["text"]);
    expect(sent.text).toMatch(/BREAK-GLASS: \*ci\* took \*db\/write\*/);
  });

  it("retries with backoff, then keeps a dead letter, audited, after the last attempt", async () => {
    const r = await receiver(() => 503);
    servers.push(r.server);
    const hooks = [hookAt(r.url)];
    await notify(hooks);
    const outcomes: string[] = [];
    const d = delivery(hooks, outcomes);
    await d.runOnce();
    const first = (await store.listNotifications({ limit: 5 }))[0]!;
    expect(first).toMatchObject({
      state: "pending",
      attempts: 1,
      lastError: "HTTP 503",
      nextAttemptAt: clock.now() + 1000,
    });
    expect(await d.runOnce()).toBe(0); // not due yet
    clock.advance(1000);
    await d.runOnce();
    expect((await store.listNotifications({ limit: 5 }))[0]).toMatchObject({
      attempts: 2,
      nextAttemptAt: clock.now() + 2000,
    });
    clock.advance(2000);
    await d.runOnce();
    expect(await store.listNotifications({ states: ["dead"], limit: 5 })).toHaveLength(1);
    expect(outcomes).toEqual(["retry", "retry", "dead"]);
    expect(r.got).toHaveLength(3);
    const audit = await store.listAudit(0, 10);
    expect(audit.at(-1)).toMatchObject({ code: "notification.dead_lettered", severity: "alert", requestId: "req_1" });
    expect(audit.at(-1)?.data).toMatchObject({ sink: "ops", attempts: 3, error: "HTTP 503" });
  });

  it("records an unreachable webhook as a failed attempt: the state change it reports was already committed", async () => {
    const r = await receiver(() => 200);
    const url = r.url;
    await new Promise((resolve) => r.server.close(resolve)); // nothing listens there now
    const hooks = [hookAt(url)];
    expect(await notify(hooks)).toBe(1);
    await delivery(hooks).runOnce();
    const row = (await store.listNotifications({ limit: 5 }))[0]!;
    expect(row.state).toBe("pending");
    expect(row.lastError).toMatch(/fetch failed|ECONNREFUSED/);
    expect(JSON.stringify(row)).not.toContain(SECRET);
  });

  it("writes nothing for events no webhook subscribes to", () => {
    expect(
      new OutboxNotifier([hookAt("http://127.0.0.1:1/", { events: ["break_glass"] })]).writes("removal_failed", {}, 0),
    ).toEqual([]);
  });
});
