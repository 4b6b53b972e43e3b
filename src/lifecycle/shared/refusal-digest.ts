// Keeps the evidence of a flood of refusals without the flood: per source and reason, the first refusal in a window is
// its own audit event and the rest are one summary event when the window ends (count, first and last time).
//
// An unauthenticated caller could otherwise append an audit event per request forever (audit events are never
// pruned). A refusal's answer to the caller does not change; only how many events record it.
import type { Identity } from "../../domain/index.js";
import type { EphemeraError } from "../../support/index.js";
import { describeError, Periodic } from "../../support/index.js";
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
  /** Refusals after the first, not yet recorded, and when the first and last of them came. */
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
    private readonly maxWindows = MAX_WINDOWS,
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
    // One window per kind of refusal: who, from where, on which route, its error code and, where the refusal names
    // one, its stable reason code (`data.refused`: a wrong sign-in state is not a replayed code), so a harmless first
    // refusal never stands for other kinds after it. The message is not part of it: it may carry a countdown.
    const route = `${String(refusal.data?.method ?? "")} ${String(refusal.data?.path ?? "")}`;
    const kind = String(refusal.data?.refused ?? "");
    const key = [refusal.auditCode, refusal.errorCode, caller?.id ?? "", refusal.sourceHmac, route, kind].join(
      "\u0000",
    );
    const open = this.#windows.get(key);
    if (open !== undefined && now - open.startedAt >= this.windowMs) await this.#write(key, open);
    else if (open !== undefined) return this.#count(open, refusal, now);

    if (this.#windows.size >= this.maxWindows) {
      const overflow = `${refusal.auditCode}\u0000${refusal.errorCode}\u0000${OVERFLOW}`;
      const shared =
        this.#windows.get(overflow) ?? this.#open(overflow, null, { ...refusal, sourceHmac: OVERFLOW }, now);
      return this.#count(shared, refusal, now);
    }
    const error = await refuse(this.deps, caller, {
      ...refusal,
      data: { ...refusal.data, sourceAddressHmac: refusal.sourceHmac },
    });
    this.#open(key, caller, refusal, now);
    return error;
  }

  /** Writes the summaries of windows that have ended (all of them with `all`). */
  async flush(all: boolean): Promise<void> {
    const now = this.deps.clock.now();
    for (const [key, open] of [...this.#windows]) {
      if (all || now - open.startedAt >= this.windowMs) await this.#write(key, open);
    }
  }

  #open(key: string, caller: Identity | null, refusal: DigestedRefusal, now: number): Window {
    const window: Window = { startedAt: now, caller, refusal, count: 0, firstAt: now, lastAt: now };
    this.#windows.set(key, window);
    return window;
  }

  #count(open: Window, refusal: DigestedRefusal, now: number): EphemeraError {
    if (open.count === 0) open.firstAt = now;
    open.count++;
    open.lastAt = now;
    return refusalError(refusal);
  }

  /** The window's summary, as one refusal event carrying the count (nothing when no refusal followed the first). */
  async #write(key: string, open: Window): Promise<void> {
    this.#windows.delete(key);
    if (open.count === 0) return;
    const { refusal } = open;
    const repeated = {
      count: open.count,
      firstAt: new Date(open.firstAt).toISOString(),
      lastAt: new Date(open.lastAt).toISOString(),
      windowSeconds: Math.round(this.windowMs / 1000),
    };
    try {
      await refuse(this.deps, open.caller, {
        ...refusal,
        data: { ...refusal.data, sourceAddressHmac: refusal.sourceHmac, repeated },
      });
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
