// The maintenance loop: reconciles every target on an interval and rotates admin secrets whose schedule is due.
// One timer; a pass never overlaps the previous one.
import type { Connector } from "../../connectors/index.js";
import type { Identity, RequestFacts } from "../../domain/index.js";
import { describeError, holdsLease } from "../../support/index.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { requireDiscoverAll } from "../shared/require-permission.js";
import { type DiscoveryReport, type ReconcileObserver, reconcileTargets } from "./reconcile.js";
import { lastRotation, rotateTargetSecretAsSystem } from "./rotate-target-secret.js";

export interface MaintenanceOptions {
  /** Between reconciliation passes; 0 turns the schedule off (`ephemera discover` still runs one). */
  readonly reconcileIntervalMs: number;
  /** Target id → rotation interval in seconds, for targets with `adminRotation` set. */
  readonly rotations: ReadonlyMap<string, number>;
  /**
   * This process among the replicas sharing the store. Scheduled passes run only while it holds the store's
   * `maintenance` lease, so one replica at a time reconciles and rotates; another takes over when the holder stops
   * renewing it. Passes an operator asks for (`ephemera discover`, `ephemera rotate`) run where they are asked.
   */
  readonly replicaId?: string;
}

const LEASE = "maintenance";

export class Maintenance {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<unknown> | null = null;

  constructor(
    private readonly deps: LifecycleDeps,
    private readonly connectors: ReadonlyMap<string, Connector>,
    private readonly options: MaintenanceOptions,
    private readonly observer?: ReconcileObserver,
  ) {}

  /** One reconciliation now, after any maintenance pass already running; the schedule's own path. */
  reconcile(): Promise<DiscoveryReport> {
    return this.#exclusive(() => reconcileTargets(this.deps, this.connectors, this.observer));
  }

  /**
   * One reconciliation now (`ephemera discover`), for whom policy allows `discover` on every target; others are
   * refused, audited.
   */
  async reconcileFor(caller: Identity, facts: RequestFacts | null = null): Promise<DiscoveryReport> {
    await requireDiscoverAll(this.deps, caller, this.connectors.keys(), "discovery", facts);
    return this.reconcile();
  }

  /** Rotates every target whose schedule is due (a target never rotated by the broker is due at once). */
  rotateDue(): Promise<string[]> {
    return this.#exclusive(async () => {
      const rotated: string[] = [];
      const now = this.deps.clock.now();
      for (const [targetId, seconds] of this.options.rotations) {
        const last = await lastRotation(this.deps, targetId);
        if (last && now - last.rotatedAt < seconds * 1000) continue;
        try {
          await rotateTargetSecretAsSystem(this.deps, "schedule", targetId);
          rotated.push(targetId);
        } catch (error) {
          // Audited by the rotation; the next pass tries again.
          this.deps.logger.warn({ target: targetId, err: describeError(error) }, "scheduled admin rotation failed");
        }
      }
      return rotated;
    });
  }

  start(): void {
    const interval = this.options.reconcileIntervalMs;
    if (interval <= 0 && this.options.rotations.size === 0) return;
    const period = interval > 0 ? interval : 60_000;
    const tick = () => {
      this.#timer = setTimeout(async () => {
        try {
          if (await holdsLease(this.deps, LEASE, this.options.replicaId, period)) {
            if (interval > 0) await this.reconcile();
            await this.rotateDue();
          }
        } catch (error) {
          this.deps.logger.warn({ err: describeError(error) }, "maintenance pass failed");
        }
        if (this.#timer) tick();
      }, period);
      this.#timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => {});
    if (this.options.replicaId !== undefined) {
      await this.deps.store.releaseLease(LEASE, this.options.replicaId).catch(() => undefined);
    }
  }

  async #exclusive<T>(run: () => Promise<T>): Promise<T> {
    while (this.#running) await this.#running.catch(() => {});
    const pass = run();
    this.#running = pass;
    try {
      return await pass;
    } finally {
      if (this.#running === pass) this.#running = null;
    }
  }
}
