// Pushes audit events, in order, to a SIEM webhook: a batch per POST (JSON lines, HMAC-signed like every webhook),
// a durable cursor moved by compare-and-set so replicas never send a batch twice on purpose (delivery is at least
// once: a crash between the POST and the cursor move sends the batch again). Never in the way of a decision.

import { type AuditLog, ConflictError, type Leases, StateNamespace, type StatePort } from "../storage/index.js";
import type { Clock, Logger } from "../support/index.js";
import { describeError, holdsLease, Periodic, signature } from "../support/index.js";
import { BOOKKEEPING_CODES } from "./checkpointer.js";
import { type ExportFormat, exportRecord } from "./export.js";
import { systemEvent } from "./system-event.js";

/** The stream's cursor, under one key, moved by compare-and-set. */
const stream = new StateNamespace<{ readonly seq: number }>("audit.stream");
const CURSOR = "cursor";
const LEASE = "audit.stream";

export interface AuditStreamOptions {
  readonly store: StatePort & AuditLog & Leases;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly url: string;
  readonly secret: string | null;
  readonly format: ExportFormat;
  readonly intervalMs: number;
  readonly batch: number;
  readonly timeoutMs: number;
  readonly version: string;
  readonly replicaId?: string;
  readonly fetch?: typeof fetch;
}

export interface StreamPass {
  /** Events delivered in this pass. */
  readonly sent: number;
  /** The cursor after the pass: every event up to it was delivered. */
  readonly cursor: number;
  readonly error: string | null;
}

export class AuditStream {
  readonly #task: Periodic<StreamPass>;
  #failing = false;

  constructor(private readonly options: AuditStreamOptions) {
    this.#task = new Periodic(
      () => this.#pass(),
      (error) => options.logger.error({ err: describeError(error) }, "audit stream pass failed"),
    );
  }

  start(): void {
    this.#task.start(this.options.intervalMs);
  }

  stop(): Promise<void> {
    return this.#task.stop();
  }

  runOnce(): Promise<StreamPass> {
    return this.#task.runOnce();
  }

  /** The seq up to which events were delivered (0 before the first delivery). */
  async cursor(): Promise<number> {
    return cursorOf((await stream.in(this.options.store).get(CURSOR))?.value);
  }

  async #pass(): Promise<StreamPass> {
    const { store, clock } = this.options;
    const stored = await stream.in(store).get(CURSOR);
    const from = cursorOf(stored?.value);
    if (!(await holdsLease({ store, clock }, LEASE, this.options.replicaId, this.options.intervalMs))) {
      return { sent: 0, cursor: from, error: null };
    }
    const events = await store.listAudit(from, this.options.batch);
    // Only the audit's own records are new (the stream's last batch, a checkpoint): they go with the next real batch,
    // or the stream and the checkpoints would feed each other one event per pass forever.
    if (events.every((e) => BOOKKEEPING_CODES.has(e.code))) {
      return { sent: 0, cursor: from, error: null };
    }
    const body = `${events.map((e) => JSON.stringify(exportRecord(e, this.options.format, this.options.version))).join("\n")}\n`;
    const error = await this.#post(body, events[0]!.seq, events.at(-1)!.seq);
    const now = clock.now();
    if (error !== null) {
      // The origin only: a SIEM URL may carry a token in its path or query.
      this.options.logger.warn(
        { origin: originOf(this.options.url), error },
        "audit stream delivery failed; retried next pass",
      );
      if (!this.#failing) {
        this.#failing = true;
        await store.apply({
          writes: [],
          audit: [systemEvent("audit.sink_failed", now, "audit", { sink: "stream", fromSeq: from + 1, error })],
        });
      }
      return { sent: 0, cursor: from, error };
    }
    this.#failing = false;
    const to = events.at(-1)!.seq;
    try {
      await store.apply({
        writes: [stream.replace(CURSOR, { seq: to }, stored ? stored.value : null)],
        audit: [systemEvent("audit.streamed", now, "audit", { fromSeq: from + 1, toSeq: to, count: events.length })],
      });
    } catch (e) {
      // Another replica moved the cursor first (its lease lapsed under it): this batch was sent twice, not lost.
      if (e instanceof ConflictError) return { sent: events.length, cursor: await this.cursor(), error: null };
      throw e;
    }
    return { sent: events.length, cursor: to, error: null };
  }

  /** POSTs one batch; null on 2xx, else what went wrong (never the secret or the body). */
  async #post(body: string, fromSeq: number, toSeq: number): Promise<string | null> {
    const timestamp = String(Math.floor(this.options.clock.now() / 1000));
    const headers: Record<string, string> = {
      "content-type": "application/x-ndjson",
      "user-agent": "ephemera-audit-stream",
      "x-ephemera-event": `audit_${this.options.format}`,
      "x-ephemera-delivery": `audit-${fromSeq}-${toSeq}`,
      "x-ephemera-timestamp": timestamp,
    };
    if (this.options.secret !== null) headers["x-ephemera-signature"] = signature(this.options.secret, timestamp, body);
    try {
      const response = await (this.options.fetch ?? fetch)(this.options.url, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: "manual",
      });
      await response.body?.cancel().catch(() => undefined);
      return response.ok ? null : `HTTP ${response.status}`;
    } catch (error) {
      return describeError(error);
    }
  }
}

function cursorOf(value: unknown): number {
  const seq = (value as { seq?: unknown } | null | undefined)?.seq;
  return typeof seq === "number" && Number.isSafeInteger(seq) && seq >= 0 ? seq : 0;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid URL)";
  }
}
