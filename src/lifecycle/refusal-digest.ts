// Keeps the evidence of a flood of refusals without the flood: per source and reason, the first refusal in a window is
// its own audit event and the rest are one summary event when the window ends (count, first and last time).
//
// An unauthenticated caller could otherwise append an audit event per request forever (audit events are never
// pruned). A refusal's answer to the caller does not change; only how many events record it.
import type { AuditCode } from "../audit/codes.js";
import type { Identity } from "../domain/types.js";
import type { EphemeraError } from "../support/errors.js";
import { describeError } from "../support/errors.js";
import { Periodic } from "../support/periodic.js";
import { actorOf, draft } from "./audit-draft.js";
import { commit } from "./commit.js";
import type { LifecycleDeps } from "./deps.js";
import { type Refusal, refusalError, refuse } from "./refuse.js";

export interface DigestedRefusal extends Refusal {
  /** A keyed HMAC of the source address: who, without keeping the address. */
  readonly sourceHmac: string;
}

interface Window {
  readonly startedAt: number;
  readonly caller: Identity | null;
  readonly refusal: DigestedRefusal;
  /** Refusals after the first, not yet recorded. */
  count: number;
  firstAt: number;
  lastAt: number;
}

/** Past this many distinct sources and reasons in one window, the rest share one summary (memory stays bounded). */
const MAX_WINDOWS = 10_000;
const OVERFLOW = "(many sources)";

export class RefusalDigest {
  readonly #windows = new Map<string, Window>();
  readonly #task: Periodic<void>;

  constructor(
    private readonly deps: LifecycleDeps,
    private readonly windowMs: number,
  ) {
    this.#task = new Periodic(
      () => this.flush(false),
      (error) => deps.logger.error({ err: describeError(error) }, "refusal summary not written"),
    );
  }

  start(): void {
    this.#task.start(Math.min(this.windowMs, 5_000));
  }

  /** Stops the timer and writes every open summary. */
  async stop(): Promise<void> {
    await this.#task.stop();
    await this.flush(true);
  }

  /**
   * Records a refusal and returns the error to answer with. The first of its kind in a window is written at once, like
   * any refusal (if that write fails, the caller gets audit_unavailable: no refusal goes unrecorded); later ones are
   * counted for the summary.
   */
  async refuse(caller: Identity | null, refusal: DigestedRefusal): Promise<EphemeraError> {
    const now = this.deps.clock.now();
    // One window per kind of refusal: who, from where, on which route, and its error code (a harmless first refusal
    // must not stand for other kinds after it). The message is not part of it: it may carry a countdown.
    const route = `${String(refusal.data?.method ?? "")} ${String(refusal.data?.path ?? "")}`;
    let key = [refusal.auditCode, refusal.errorCode, caller?.id ?? "", refusal.sourceHmac, route].join("\u0000");
    let open = this.#windows.get(key);
    if (open !== undefined && now - open.startedAt >= this.windowMs) {
      await this.#write(key, open);
      open = undefined;
    }
    if (open === undefined && this.#windows.size >= MAX_WINDOWS) {
      key = `${refusal.auditCode}\u0000${refusal.errorCode}\u0000${OVERFLOW}`;
      open = this.#windows.get(key);
      if (open === undefined) {
        this.#windows.set(key, {
          startedAt: now,
          caller: null,
          refusal: { ...refusal, sourceHmac: OVERFLOW },
          count: 0,
          firstAt: now,
          lastAt: now,
        });
        open = this.#windows.get(key);
      }
    }
    if (open !== undefined) {
      open.count++;
      open.lastAt = now;
      return refusalError(refusal);
    }
    const error = await refuse(this.deps, caller, {
      ...refusal,
      data: { ...refusal.data, sourceAddressHmac: refusal.sourceHmac },
    });
    this.#windows.set(key, { startedAt: now, caller, refusal, count: 0, firstAt: now, lastAt: now });
    return error;
  }

  /** Writes the summaries of windows that have ended (all of them with `all`). */
  async flush(all: boolean): Promise<void> {
    const now = this.deps.clock.now();
    for (const [key, open] of [...this.#windows]) {
      if (all || now - open.startedAt >= this.windowMs) await this.#write(key, open);
    }
  }

  async #write(key: string, open: Window): Promise<void> {
    this.#windows.delete(key);
    if (open.count === 0) return;
    const { refusal } = open;
    const event = draft(
      refusal.auditCode satisfies AuditCode,
      this.deps.clock.now(),
      actorOf(open.caller),
      { identityId: open.caller?.id ?? null },
      {
        error: refusal.errorCode,
        reason: refusal.message,
        ...refusal.data,
        sourceAddressHmac: refusal.sourceHmac,
        repeated: {
          count: open.count,
          firstAt: new Date(open.firstAt).toISOString(),
          lastAt: new Date(open.lastAt).toISOString(),
          windowSeconds: Math.round(this.windowMs / 1000),
        },
      },
      "denied",
    );
    try {
      await commit(this.deps, { writes: [], audit: [event] });
    } catch (error) {
      // Put back for the next pass: a summary is evidence, kept until it can be written.
      const again = this.#windows.get(key);
      if (again === undefined) this.#windows.set(key, open);
      else {
        again.count += open.count;
        again.firstAt = Math.min(again.firstAt, open.firstAt);
      }
      throw error;
    }
  }
}
