// One credential kept alive: issue, write the sink, renew at 2/3 of the remaining time, rotate with an overlap, end.
//
// Rotation: when renewal is refused or the grant has reached its maximum, a NEW grant is issued, written to the sink
// and announced (signal or command) before the old one is touched; the old grant is completed only after `grace`, so
// the app always holds a working credential and no credential outlives its overlap.
import type { Logger } from "pino";
import {
  completeGrant,
  EphemeraApiError,
  type EphemeraClient,
  isPending,
  isReplay,
  type RequestInput,
  type RequestResult,
  sleep,
  waitAndCollect,
} from "../client/index.js";
import type { TokenPurpose } from "./auth.js";
import { Backoff } from "./backoff.js";
import type { AgentConfig, CredentialConfig } from "./config.js";
import { atMaximum, type Held, heldOf, reasonOf, sinkCredentialOf, transient } from "./held.js";
import type { AgentMetrics } from "./metrics.js";
import { renderSink, writeSinkAtomically } from "./sink/index.js";

export interface KeeperDeps {
  clientFor(purpose: TokenPurpose): Promise<EphemeraClient>;
  readonly logger: Logger;
  readonly metrics: AgentMetrics;
  readonly renewal: AgentConfig["renewal"];
  /** Tells the app its sink changed (signal to the supervised command, onChange command). */
  notify(credential: CredentialConfig): Promise<void>;
  readonly random?: () => number;
}

export interface KeeperStatus {
  readonly name: string;
  readonly entitlement: string;
  /** ok: a valid credential and the last attempt worked; degraded: valid but the last attempt failed; missing. */
  readonly state: "ok" | "degraded" | "missing";
  readonly grantId: string | null;
  readonly expiresAt: string | null;
  readonly pendingRequestId: string | null;
  readonly lastError: string | null;
}

export interface Ended {
  readonly credential: string;
  readonly grantId: string;
  /** True once the broker verified removal; false when removal failed or could not be confirmed. */
  readonly removed: boolean;
}

/** Time allowed to issue a replacement before the grace overlap must begin. */
const ISSUE_LEAD_MS = 1_000;

export class CredentialKeeper {
  readonly #config: CredentialConfig;
  readonly #deps: KeeperDeps;
  readonly #log: Logger;
  readonly #stop = new AbortController();
  readonly #backoff: Backoff;
  readonly #retiring = new Map<string, { held: Held; timer: NodeJS.Timeout }>();
  readonly #ending = new Set<Promise<Ended>>();
  #current: Held | null = null;
  #pendingRequestId: string | null = null;
  #lastError: string | null = null;
  #loop: Promise<void> | null = null;
  #ready: Promise<void>;
  #markReady: () => void = () => undefined;

  constructor(config: CredentialConfig, deps: KeeperDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#log = deps.logger.child({ credential: config.name, entitlement: config.entitlement });
    this.#backoff = new Backoff(deps.renewal.retryInitialMs, deps.renewal.retryMaxMs, deps.random);
    this.#ready = new Promise((resolve) => {
      this.#markReady = resolve;
    });
  }

  get name(): string {
    return this.#config.name;
  }

  /** Starts keeping the credential; `ready` resolves once its first sink is written. */
  start(options: { once?: boolean } = {}): void {
    this.#loop ??= this.#run(options.once === true);
  }

  /** Resolves once the first credential is in its sink (never rejects; the keeper retries until stopped). */
  ready(): Promise<void> {
    return this.#ready;
  }

  status(now = Date.now()): KeeperStatus {
    const held = this.#current;
    const valid = held !== null && held.expiresAt > now;
    return {
      name: this.#config.name,
      entitlement: this.#config.entitlement,
      state: !valid ? "missing" : this.#lastError === null ? "ok" : "degraded",
      grantId: held?.grantId ?? null,
      expiresAt: held ? new Date(held.expiresAt).toISOString() : null,
      pendingRequestId: this.#pendingRequestId,
      lastError: this.#lastError,
    };
  }

  /** Grant ids held now: the current one and those in their grace overlap. */
  grantIds(): string[] {
    return [...(this.#current ? [this.#current.grantId] : []), ...this.#retiring.keys()];
  }

  /**
   * Stops renewing and completes every grant held (current and retiring, at once), resolving with what the broker
   * said about each. With `keep`, grants are left to expire instead (one-shot mode).
   */
  async stop(options: { keep?: boolean } = {}): Promise<Ended[]> {
    this.#stop.abort();
    await this.#loop;
    this.#markReady();
    if (options.keep === true) return [];
    const ending: Promise<Ended>[] = [...this.#ending];
    for (const [id, { held, timer }] of this.#retiring) {
      clearTimeout(timer);
      this.#retiring.delete(id);
      ending.push(this.#complete(held));
    }
    if (this.#current !== null) {
      ending.push(this.#complete(this.#current));
      this.#deps.metrics.held.dec();
    }
    this.#current = null;
    return Promise.all(ending);
  }

  async #run(once: boolean): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted && this.#current === null) {
      try {
        const held = await this.#acquire();
        if (signal.aborted) {
          // Stopped while asking: the new grant is ended with the others.
          this.#current = held;
          this.#deps.metrics.held.inc();
          return;
        }
        await this.#installOrEnd(held, false);
        this.#current = held;
        this.#deps.metrics.held.inc();
        this.#succeeded();
      } catch (error) {
        await this.#failed("issue", error);
      }
    }
    this.#markReady();
    if (once) return;

    let nextAt = this.#scheduleAfterSuccess();
    while (!signal.aborted) {
      this.#updateExpiryGauge();
      await sleep(Math.min(nextAt - Date.now(), 5_000), signal);
      if (signal.aborted) break;
      if (Date.now() < nextAt) continue;
      const current = this.#current;
      if (current === null) break;
      try {
        if (atMaximum(current) || current.expiresAt <= Date.now() || !(await this.#renew(current)))
          await this.#rotate(current);
        this.#succeeded();
        nextAt = this.#scheduleAfterSuccess();
      } catch (error) {
        const delay = await this.#failed(this.#current === current ? "renew" : "rotate", error, false);
        nextAt = Date.now() + delay;
      }
    }
  }

  /**
   * When to act next: at 2/3 of the remaining time, less up to `jitter` of it, so many agents do not renew at once.
   * A grant at its maximum is rotated early enough that it stays valid for the whole grace overlap (plus a second to
   * issue its replacement).
   */
  #scheduleAfterSuccess(): number {
    const held = this.#current;
    if (held === null) return Date.now();
    const now = Date.now();
    const remaining = Math.max(0, held.expiresAt - now);
    const random = this.#deps.random ?? Math.random;
    const at = now + remaining * (2 / 3) * (1 - this.#deps.renewal.jitter * random());
    if (!atMaximum(held)) return at;
    return Math.max(now, Math.min(at, held.expiresAt - this.#deps.renewal.graceMs - ISSUE_LEAD_MS));
  }

  /** The request; a rotation says which grant it replaces in the intent, so the audit trail links the two. */
  #input(replaces: string | null): RequestInput {
    const c = this.#config;
    const intent =
      replaces === null ? c.intent : `${c.intent ?? `ephemera agent: ${c.name}`}; rotation replacing grant ${replaces}`;
    return {
      entitlement: c.entitlement,
      ...(c.duration === null ? {} : { duration: c.duration }),
      ...(c.justification === null ? {} : { justification: c.justification }),
      ...(c.ticket === null ? {} : { ticket: c.ticket }),
      ...(intent === null ? {} : { intent }),
    };
  }

  /** Issues a grant: at once, or after approvers agree (the pending request is remembered across retries). */
  async #acquire(replaces: string | null = null): Promise<Held> {
    let result: RequestResult;
    if (this.#pendingRequestId === null) {
      const answer = await (await this.#deps.clientFor("request")).request(this.#input(replaces));
      if (isReplay(answer)) throw new Error("the broker answered a replay; no credential was shown");
      if (isPending(answer)) {
        this.#pendingRequestId = answer.request.id;
        this.#log.warn(
          {
            requestId: answer.request.id,
            approvers: answer.request.decision?.approvers ?? [],
            dueAt: answer.request.dueAt,
          },
          "waiting for approval",
        );
        result = await this.#collect(answer.request.id);
      } else {
        result = answer;
      }
    } else {
      result = await this.#collect(this.#pendingRequestId);
    }
    this.#pendingRequestId = null;
    const held = heldOf(result);
    this.#log.info(
      { grantId: held.grantId, requestId: held.requestId, expiresAt: new Date(held.expiresAt).toISOString() },
      "credential issued",
    );
    return held;
  }

  async #collect(requestId: string): Promise<RequestResult> {
    try {
      return await waitAndCollect(await this.#deps.clientFor("call"), requestId, {
        timeoutMs: this.#config.approvalTimeoutMs,
        pollMs: Math.min(2_000, this.#deps.renewal.retryInitialMs),
        signal: this.#stop.signal,
        collectWith: () => this.#deps.clientFor("request"),
      });
    } catch (error) {
      // Denied, cancelled, timed out: the next attempt asks anew. Anything else retries the same request.
      if (error instanceof EphemeraApiError && !transient(error)) this.#pendingRequestId = null;
      throw error;
    }
  }

  /** Renews in place; false when the broker refuses (policy, maximum), so the caller rotates. */
  async #renew(held: Held): Promise<boolean> {
    let renewed: Awaited<ReturnType<EphemeraClient["renew"]>>;
    try {
      renewed = await (await this.#deps.clientFor("call")).renew(held.grantId, this.#config.duration ?? undefined);
    } catch (error) {
      if (error instanceof EphemeraApiError && !transient(error)) {
        this.#log.info({ grantId: held.grantId, reason: error.code }, "renewal refused; rotating");
        return false;
      }
      throw error;
    }
    held.expiresAt = Date.parse(renewed.grant.expiresAt ?? "") || held.expiresAt;
    held.maxExpiresAt = renewed.grant.maxExpiresAt ? Date.parse(renewed.grant.maxExpiresAt) : null;
    this.#deps.metrics.renewals.inc({ credential: this.#config.name });
    this.#log.info(
      { grantId: held.grantId, expiresAt: new Date(held.expiresAt).toISOString(), capped: renewed.capped },
      "grant renewed",
    );
    if (renewed.credential !== null) {
      // Token targets hand out a fresh token on renewal: it goes to the sink like a new grant would.
      held.credential = sinkCredentialOf(held.grantId, held.expiresAt, renewed.credential);
      await this.#install(held, true);
    } else {
      // EPHEMERA_EXPIRES_AT and expiresAt in the sink follow the renewal.
      held.credential = { ...held.credential, expiresAt: new Date(held.expiresAt).toISOString() };
      await this.#install(held, false);
    }
    return true;
  }

  /** A new grant first, then the sink and the app; the old grant ends after `grace`. */
  async #rotate(old: Held): Promise<void> {
    const fresh = await this.#acquire(old.grantId);
    await this.#installOrEnd(fresh, true);
    this.#current = fresh;
    this.#deps.metrics.rotations.inc({ credential: this.#config.name });
    this.#log.info({ grantId: fresh.grantId, replaces: old.grantId, graceMs: this.#deps.renewal.graceMs }, "rotated");
    const timer = setTimeout(() => {
      this.#retiring.delete(old.grantId);
      this.#ending.add(this.#tracked(this.#complete(old)));
    }, this.#deps.renewal.graceMs);
    this.#retiring.set(old.grantId, { held: old, timer });
  }

  #tracked(promise: Promise<Ended>): Promise<Ended> {
    const tracked = promise.finally(() => this.#ending.delete(tracked));
    return tracked;
  }

  async #complete(held: Held): Promise<Ended> {
    try {
      const ended = await completeGrant(await this.#deps.clientFor("call"), held.grantId);
      const removed = ended === null ? true : ended.removed;
      this.#deps.metrics.completions.inc({ credential: this.#config.name, verified: String(removed) });
      this.#log.info(
        { grantId: held.grantId, state: ended?.state ?? "ended", removed, verifiedAt: ended?.verifiedAt ?? null },
        ended === null ? "grant had already ended" : "grant completed",
      );
      return { credential: this.#config.name, grantId: held.grantId, removed };
    } catch (error) {
      this.#deps.metrics.failures.inc({ credential: this.#config.name, operation: "complete" });
      this.#log.error({ grantId: held.grantId, err: reasonOf(error) }, "could not complete grant; it ends at expiry");
      return { credential: this.#config.name, grantId: held.grantId, removed: false };
    }
  }

  /** A new grant whose sink cannot be written is of no use: it is ended rather than left to its expiry. */
  async #installOrEnd(held: Held, announce: boolean): Promise<void> {
    try {
      await this.#install(held, announce);
    } catch (error) {
      this.#ending.add(this.#tracked(this.#complete(held)));
      throw error;
    }
  }

  async #install(held: Held, announce: boolean): Promise<void> {
    const sink = this.#config.sink;
    let content: string;
    try {
      content = renderSink(sink.format, held.credential, sink.template ?? undefined);
      await writeSinkAtomically(sink.path, content, {
        mode: sink.mode,
        ...(sink.uid === null ? {} : { uid: sink.uid }),
        ...(sink.gid === null ? {} : { gid: sink.gid }),
      });
    } catch (error) {
      this.#deps.metrics.failures.inc({ credential: this.#config.name, operation: "sink" });
      throw error;
    }
    this.#log.debug({ grantId: held.grantId, sink: sink.path }, "sink written");
    this.#updateExpiryGauge(held);
    if (!announce) return;
    try {
      await this.#deps.notify(this.#config);
    } catch (error) {
      this.#deps.metrics.failures.inc({ credential: this.#config.name, operation: "notify" });
      this.#log.error({ err: reasonOf(error) }, "could not tell the app about the new credential");
    }
  }

  #updateExpiryGauge(held = this.#current): void {
    if (held === null) return;
    this.#deps.metrics.expiry.set({ credential: this.#config.name }, Math.max(0, (held.expiresAt - Date.now()) / 1000));
  }

  #succeeded(): void {
    this.#lastError = null;
    this.#backoff.reset();
  }

  /** Records a failure and waits (or returns) the backoff delay. */
  async #failed(operation: string, error: unknown, wait = true): Promise<number> {
    this.#lastError = reasonOf(error);
    this.#deps.metrics.failures.inc({ credential: this.#config.name, operation });
    const delay = this.#backoff.next();
    this.#log.warn({ operation, err: this.#lastError, retryInMs: delay }, `${operation} failed; retrying`);
    if (wait) await sleep(delay, this.#stop.signal);
    return delay;
  }
}
