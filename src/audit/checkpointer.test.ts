// Signed checkpoints on SQLite and PostgreSQL: when they are due, what they cover, one writer among replicas, sinks
// that fail, and a chain that no longer verifies.

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { WebhookConfig } from "../config/load.js";
import type { AuditEvent } from "../domain/types.js";
import { WebhookDelivery } from "../notifications/webhook-delivery.js";
import { postgresStoreUp } from "../storage/postgres/testing/schemas.js";
import type { Store } from "../storage/store.js";
import { storeBackends } from "../storage/testing/backends.js";
import { ManualClock } from "../support/clock.js";
import { silentLogger } from "../support/logger.js";
import { Sealer } from "../support/sealer.js";
import { signature } from "../support/webhook-signature.js";
import { loadCheckpointKey } from "./audit-keys.js";
import { CHECKPOINT_NAMESPACE, Checkpointer, type CheckpointerOptions } from "./checkpointer.js";
import { readCheckpointDir } from "./read-checkpoints.js";
import { systemEvent } from "./system-event.js";
import { verifyAgainstCheckpoints } from "./verify-checkpoints.js";

const pgUp = await postgresStoreUp();

const backends = storeBackends("audit-cp", pgUp);

async function* all(store: Store): AsyncGenerator<AuditEvent> {
  let after = 0;
  for (;;) {
    const page = await store.listAudit(after, 500);
    if (page.length === 0) return;
    yield* page;
    after = page.at(-1)!.seq;
  }
}

for (const [name, available, open] of backends) {
  describe.runIf(available)(`audit checkpoints on ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    async function setup(overrides: Partial<CheckpointerOptions> = {}) {
      const opened = await open();
      const dir = mkdtempSync(join(tmpdir(), "ephemera-cp-sink-"));
      cleanups.push(async () => {
        await opened.cleanup();
        rmSync(dir, { recursive: true, force: true });
      });
      const clock = new ManualClock();
      const sealer = new Sealer(randomBytes(32));
      const key = await loadCheckpointKey(opened.store, sealer, clock.now());
      const options: CheckpointerOptions = {
        store: opened.store,
        clock,
        logger: silentLogger(),
        key,
        every: 5,
        intervalMs: 60_000,
        sinkDir: join(dir, "checkpoints"),
        webhook: null,
        ...overrides,
      };
      const checkpointer = new Checkpointer(options);
      const append = async (n: number) => {
        for (let i = 0; i < n; i++) {
          await opened.store.apply({ writes: [], audit: [systemEvent("broker.started", clock.now(), "test", { i })] });
        }
      };
      return { ...opened, dir, clock, sealer, key, options, checkpointer, append };
    }

    it("signs after every N events, and after the interval when fewer came; an idle log gets no more", async () => {
      const t = await setup();
      // The key's creation is event 1.
      await t.append(3);
      expect(await t.checkpointer.runOnce()).toBeNull();
      await t.append(1);
      const first = await t.checkpointer.runOnce();
      expect(first).toMatchObject({ seq: 5, fromSeq: 1, prevCheckpoint: null, keyId: t.key.keyId });
      await t.append(2);
      expect(await t.checkpointer.runOnce()).toBeNull();
      t.clock.advance(60_000);
      const second = await t.checkpointer.runOnce();
      expect(second).toMatchObject({ seq: 8, fromSeq: 6 });
      // Only the record of the second checkpoint is new: nothing is signed however long the broker idles.
      t.clock.advance(600_000);
      expect(await t.checkpointer.runOnce()).toBeNull();
      expect(readdirSync(t.options.sinkDir!)).toEqual(["000000000005.json", "000000000008.json"]);
      const written = (await t.store.listAudit(0, 100)).filter((e) => e.code === "audit.checkpoint_written");
      expect(written.map((e) => e.data.seq)).toEqual([5, 8]);
      expect(await t.checkpointer.last()).toEqual(second);

      const verdict = await verifyAgainstCheckpoints(
        all(t.store),
        readCheckpointDir(t.options.sinkDir!),
        t.key.publicJwk,
      );
      expect(verdict).toMatchObject({ ok: true, checkpoints: 2, coveredSeq: 8, headSeq: 9 });
    });

    it("lets requests run between the pages it verifies, so a pass over a busy second's events is no stall", async () => {
      const t = await setup({ every: 1_000_000 });
      for (let i = 0; i < 6; i++) {
        const audit = Array.from({ length: 500 }, (_, j) =>
          systemEvent("broker.started", t.clock.now(), "test", { i, j }),
        );
        await t.store.apply({ writes: [], audit });
      }
      // A macrotask that counts event-loop turns, and the count each time the checkpointer reads a page.
      let turns = 0;
      let counting = true;
      const tick = () => {
        if (!counting) return;
        turns += 1;
        setImmediate(tick);
      };
      setImmediate(tick);
      const turnsAtPage: number[] = [];
      const counted = new Proxy(t.store, {
        get(target, prop) {
          if (prop === "listAudit") {
            return (after: number, limit: number) => {
              turnsAtPage.push(turns);
              return target.listAudit(after, limit);
            };
          }
          const value = Reflect.get(target, prop, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      const checkpoint = await new Checkpointer({ ...t.options, store: counted }).runOnce(true);
      counting = false;
      expect(checkpoint?.seq).toBe(3001);
      expect(turnsAtPage.length).toBeGreaterThan(3);
      // Between any two pages the event loop turned at least once: no page waits on the verification of the one before.
      for (let i = 1; i < turnsAtPage.length; i++) expect(turnsAtPage[i]!).toBeGreaterThan(turnsAtPage[i - 1]!);
    });

    it("makes the signing key once: a second start, or another replica, reads the same sealed key", async () => {
      const t = await setup();
      const again = await loadCheckpointKey(await t.another(), t.sealer, t.clock.now());
      expect(again.keyId).toBe(t.key.keyId);
      const created = (await t.store.listAudit(0, 100)).filter((e) => e.code === "audit.checkpoint_key_created");
      expect(created).toHaveLength(1);
      expect(JSON.stringify(created[0]!.data)).not.toContain('"d"');
      // The private half is sealed: the stored row holds no JWK `d`.
      const stored = await t.store.getState("audit.keys", "checkpoint");
      expect(JSON.stringify(stored?.value)).not.toMatch(/"d":/);
    });

    it("never overwrites a checkpoint file, and an unwritable sink is alarmed once and retried", async () => {
      const t = await setup();
      await t.append(5);
      // The sink path is a file: the directory cannot be made.
      writeFileSync(t.options.sinkDir!, "not a directory");
      expect(await t.checkpointer.runOnce()).toBeNull();
      expect(await t.checkpointer.runOnce()).toBeNull();
      const alarms = (await t.store.listAudit(0, 100)).filter((e) => e.code === "audit.sink_failed");
      expect(alarms).toHaveLength(1);
      expect(alarms[0]).toMatchObject({ severity: "alert", data: { sink: "file" } });
      expect(await t.checkpointer.last()).toBeNull();
      rmSync(t.options.sinkDir!);
      const written = await t.checkpointer.runOnce();
      expect(written?.fromSeq).toBe(1);
      expect(existsSync(join(t.options.sinkDir!, "000000000007.json"))).toBe(true);
    });

    it("a full disk leaves no empty or partial checkpoint file, and the checkpoint is written on a later pass", async () => {
      let full = true;
      const t = await setup({
        fileIo: {
          write: (fd, text) => {
            if (!full) return void writeSync(fd, text);
            writeSync(fd, text.slice(0, 10)); // part of it lands, then the disk is full
            throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
          },
        },
      });
      await t.append(5);
      expect(await t.checkpointer.runOnce()).toBeNull();
      expect(readdirSync(t.options.sinkDir!)).toEqual([]);
      expect(readCheckpointDir(t.options.sinkDir!)).toEqual([]);
      expect(await t.checkpointer.last()).toBeNull();
      full = false;
      const written = await t.checkpointer.runOnce();
      expect(written?.seq).toBeGreaterThan(5);
      expect(readdirSync(t.options.sinkDir!)).toEqual([`${String(written?.seq).padStart(12, "0")}.json`]);
      const verdict = await verifyAgainstCheckpoints(
        all(t.store),
        readCheckpointDir(t.options.sinkDir!),
        t.key.publicJwk,
      );
      expect(verdict.ok).toBe(true);
    });

    it("a file planted under the next checkpoint's name is alarmed, not taken for a checkpoint", async () => {
      const t = await setup();
      await t.append(5);
      mkdirSync(t.options.sinkDir!, { recursive: true });
      // The key's creation is event 1, five more make 6: the checkpoint due now covers seq 1–6.
      writeFileSync(join(t.options.sinkDir!, "000000000006.json"), "{}");
      expect(await t.checkpointer.runOnce()).toBeNull();
      const alarms = (await t.store.listAudit(0, 100)).filter((e) => e.code === "audit.sink_failed");
      expect(alarms).toHaveLength(1);
      expect(await t.checkpointer.last()).toBeNull();
    });

    it("sends each checkpoint to a webhook through the notification outbox, signed", async () => {
      const received: { body: string; headers: IncomingMessage["headers"] }[] = [];
      const server = createServer((req, res) => {
        let body = "";
        req.on("data", (c) => {
          body += c;
        });
        req.on("end", () => {
          received.push({ body, headers: req.headers });
          res.end();
        });
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      cleanups.push(() => new Promise((r) => server.close(() => r())));
      const hook: WebhookConfig = {
        name: "auditors",
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cp`,
        format: "json",
        secret: "a-shared-secret-of-some-length",
        events: ["approval_pending"],
        maxAttempts: 3,
        timeoutMs: 5_000,
      };
      const t = await setup({ webhook: "auditors", sinkDir: null });
      await t.append(5);
      const checkpoint = await t.checkpointer.runOnce();
      const delivery = new WebhookDelivery({
        store: t.store,
        clock: t.clock,
        logger: silentLogger(),
        webhooks: [hook],
        retryInitialMs: 1_000,
        retryMaxMs: 10_000,
      });
      expect(await delivery.runOnce()).toBe(1);
      expect(received).toHaveLength(1);
      const { body, headers } = received[0]!;
      expect(JSON.parse(body)).toMatchObject({ event: "audit_checkpoint", checkpoint });
      expect(headers["x-ephemera-signature"]).toBe(
        signature(hook.secret!, String(headers["x-ephemera-timestamp"]), body),
      );
    });

    it("refuses to sign over a chain that does not verify since the last checkpoint, and says so once", async () => {
      const t = await setup();
      await t.append(5);
      await t.checkpointer.runOnce();
      await t.append(5);
      // A store that answers an event rewritten after the last checkpoint.
      const real = t.store;
      const lying = new Proxy(real, {
        get(target, prop) {
          if (prop === "listAudit") {
            return async (after: number, limit: number) =>
              (await target.listAudit(after, limit)).map((e) => (e.seq === 8 ? { ...e, data: { forged: true } } : e));
          }
          const value = Reflect.get(target, prop, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      const liar = new Checkpointer({ ...t.options, store: lying });
      expect(await liar.runOnce()).toBeNull();
      expect(await liar.runOnce()).toBeNull();
      const refused = (await real.listAudit(0, 100)).filter((e) => e.code === "audit.checkpoint_refused");
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ severity: "alert", data: { firstBadSeq: 8, problem: "hash_mismatch" } });
    });

    it("refuses to sign on top of a stored last checkpoint that its key did not sign", async () => {
      const t = await setup();
      await t.append(5);
      const first = await t.checkpointer.runOnce();
      expect(first).not.toBeNull();
      // Someone with write access to the store moves the last checkpoint (to build on a history they rewrote).
      const stored = await t.store.getState(CHECKPOINT_NAMESPACE, "last");
      await t.store.apply({
        writes: [
          {
            kind: "putState",
            namespace: CHECKPOINT_NAMESPACE,
            key: "last",
            value: { ...(stored!.value as object), headHash: "0".repeat(64) },
            expiresAt: null,
          },
        ],
        audit: [systemEvent("broker.started", t.clock.now(), "test", {})],
      });
      await t.append(5);
      expect(await t.checkpointer.runOnce()).toBeNull();
      const refused = (await t.store.listAudit(0, 100)).filter((e) => e.code === "audit.checkpoint_refused");
      expect(refused).toHaveLength(1);
      expect(refused[0]?.data).toMatchObject({ problem: "bad_signature" });
    });

    it("with several replicas only the lease holder writes, and the checkpoints stay one unbroken sequence", async () => {
      const t = await setup();
      const replicas = await Promise.all(
        ["a", "b", "c"].map(async (id) => {
          const store = await t.another();
          return new Checkpointer({ ...t.options, store, replicaId: `replica-${id}`, every: 3 });
        }),
      );
      for (let round = 0; round < 6; round++) {
        await t.append(4);
        const results = await Promise.all(replicas.map((r) => r.runOnce()));
        expect(results.filter((r) => r !== null).length).toBeLessThanOrEqual(1);
      }
      const files = readCheckpointDir(t.options.sinkDir!);
      expect(files.length).toBeGreaterThanOrEqual(5);
      const verdict = await verifyAgainstCheckpoints(all(t.store), files, t.key.publicJwk);
      expect(verdict.ok).toBe(true);
    });
  });
}
