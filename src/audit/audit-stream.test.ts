// The SIEM stream on SQLite and PostgreSQL: events in order, signed, a cursor that only moves after a 2xx, failures
// alarmed once, and replicas that share the cursor without losing an event.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { postgresStoreUp } from "../storage/postgres/testing/schemas.js";
import { storeBackends } from "../storage/testing/backends.js";
import { ManualClock } from "../support/clock.js";
import { silentLogger } from "../support/logger.js";
import { Sealer } from "../support/sealer.js";
import { signature } from "../support/webhook-signature.js";
import { loadCheckpointKey } from "./audit-keys.js";
import { AuditStream, type AuditStreamOptions } from "./audit-stream.js";
import { Checkpointer } from "./checkpointer.js";
import { systemEvent } from "./system-event.js";

const pgUp = await postgresStoreUp();

const backends = storeBackends("audit-stream", pgUp);

interface Received {
  readonly body: string;
  readonly timestamp: string;
  readonly signature: string;
}

for (const [name, available, open] of backends) {
  describe.runIf(available)(`audit stream on ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    async function setup(overrides: Partial<AuditStreamOptions> = {}) {
      const opened = await open();
      const received: Received[] = [];
      let status = 200;
      const server = createServer((req, res) => {
        let body = "";
        req.on("data", (c) => {
          body += c;
        });
        req.on("end", () => {
          if (status === 200) {
            received.push({
              body,
              timestamp: String(req.headers["x-ephemera-timestamp"]),
              signature: String(req.headers["x-ephemera-signature"]),
            });
          }
          res.statusCode = status;
          res.end();
        });
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      cleanups.push(async () => {
        await new Promise<void>((r) => server.close(() => r()));
        await opened.cleanup();
      });
      const clock = new ManualClock();
      const options: AuditStreamOptions = {
        store: opened.store,
        clock,
        logger: silentLogger(),
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/siem`,
        secret: randomBytes(24).toString("hex"),
        format: "jsonl",
        intervalMs: 1000,
        batch: 4,
        timeoutMs: 5000,
        version: "test",
        ...overrides,
      };
      const append = async (n: number) => {
        for (let i = 0; i < n; i++) {
          await opened.store.apply({ writes: [], audit: [systemEvent("broker.started", clock.now(), "test", { i })] });
        }
      };
      const seqs = () =>
        received.flatMap((r) =>
          r.body
            .trim()
            .split("\n")
            .map((line) => JSON.parse(line) as { seq: number; code: string })
            .filter((e) => e.code !== "audit.streamed")
            .map((e) => e.seq),
        );
      return {
        ...opened,
        options,
        received,
        append,
        seqs,
        stream: new AuditStream(options),
        fail: (s: number) => {
          status = s;
        },
      };
    }

    it("pushes events in order, in signed batches, and moves its cursor only after the receiver took them", async () => {
      const t = await setup();
      await t.append(6);
      expect(await t.stream.runOnce()).toMatchObject({ sent: 4, cursor: 4 });
      expect(await t.stream.runOnce()).toMatchObject({ sent: 3, cursor: 7 });
      // The stream's own record of the last batch waits for the next real event rather than feeding itself.
      expect(await t.stream.runOnce()).toMatchObject({ sent: 0 });
      expect(t.seqs()).toEqual([1, 2, 3, 4, 5, 6]);
      for (const r of t.received) expect(r.signature).toBe(signature(t.options.secret!, r.timestamp, r.body));
      const first = JSON.parse(t.received[0]!.body.split("\n")[0]!);
      expect(first).toMatchObject({ seq: 1, code: "broker.started", hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    });

    it("keeps the cursor when the receiver fails, alarms once, and sends the same events when it is back", async () => {
      const t = await setup();
      await t.append(3);
      t.fail(503);
      expect(await t.stream.runOnce()).toMatchObject({ sent: 0, cursor: 0, error: "HTTP 503" });
      expect(await t.stream.runOnce()).toMatchObject({ sent: 0, cursor: 0 });
      const alarms = (await t.store.listAudit(0, 100)).filter((e) => e.code === "audit.sink_failed");
      expect(alarms).toHaveLength(1);
      expect(alarms[0]).toMatchObject({ severity: "alert", data: { sink: "stream", fromSeq: 1 } });
      t.fail(200);
      while ((await t.stream.runOnce()).sent > 0);
      expect(t.seqs()).toEqual([1, 2, 3, 4]);
    });

    it("with checkpoints on, an idle broker goes quiet: neither feeds on the other's records", async () => {
      const t = await setup();
      const dir = mkdtempSync(join(tmpdir(), "ephemera-stream-cp-"));
      cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
      const clock = t.options.clock as ManualClock;
      const key = await loadCheckpointKey(t.store, new Sealer(randomBytes(32)), clock.now());
      const checkpointer = new Checkpointer({
        store: t.store,
        clock,
        logger: silentLogger(),
        key,
        every: 1000,
        intervalMs: 60_000,
        sinkDir: join(dir, "cp"),
        webhook: null,
      });
      await t.append(2);
      const headAfter = async (rounds: number) => {
        for (let i = 0; i < rounds; i++) {
          clock.advance(61_000);
          await checkpointer.runOnce();
          while ((await t.stream.runOnce()).sent > 0);
        }
        return (await t.store.auditHead()).seq;
      };
      const settled = await headAfter(3);
      expect(await headAfter(10)).toBe(settled);
      // Every real event was delivered and covered by a checkpoint.
      expect(t.seqs()).toEqual(expect.arrayContaining([1, 2, 3]));
      expect((await checkpointer.last())?.seq).toBeGreaterThanOrEqual(3);
    });

    it("speaks OCSF when asked", async () => {
      const t = await setup({ format: "ocsf" });
      await t.append(1);
      await t.stream.runOnce();
      const event = JSON.parse(t.received[0]!.body.trim());
      expect(event).toMatchObject({ class_uid: 6003, category_uid: 6, metadata: { sequence: 1, version: "1.1.0" } });
    });

    it("replicas share the cursor: every event is delivered, in order, none skipped", async () => {
      const t = await setup({ batch: 3 });
      const replicas = await Promise.all(
        ["a", "b", "c"].map(
          async (id) => new AuditStream({ ...t.options, store: await t.another(), replicaId: `replica-${id}` }),
        ),
      );
      for (let round = 0; round < 5; round++) {
        await t.append(4);
        await Promise.all(replicas.map((r) => r.runOnce()));
        await Promise.all(replicas.map((r) => r.runOnce()));
      }
      for (let i = 0; i < 10; i++) await Promise.all(replicas.map((r) => r.runOnce()));
      const delivered = t.seqs();
      const expected = (await t.store.listAudit(0, 1000)).filter((e) => e.code !== "audit.streamed").map((e) => e.seq);
      expect(expected).toHaveLength(20);
      // At least once: each real event arrives, and the first arrival of each is in order.
      expect([...new Set(delivered)]).toEqual(expected);
    });
  });
}
