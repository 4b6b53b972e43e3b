// Stage 5, monitor: asks each target which active grants it shows in use (sessions, connections) and records first and
// last use. Polled on an interval by one replica at a time (revoke/last-look.ts takes a last look before removal).
import type { Connector } from "../../connectors/index.js";
import { describeError, holdsLease, Periodic } from "../../support/index.js";
import type { LifecycleDeps } from "../shared/deps.js";

const PAGE = 500;
const LEASE = "usage-monitor";

/** One target's active grants, asked in pages; returns how many were seen in use. */
async function observeTarget(deps: LifecycleDeps, connector: Connector): Promise<number> {
  if (!connector.observeUsage) return 0;
  let seen = 0;
  let after: string | undefined;
  for (;;) {
    const page = await deps.store.listGrants({
      states: ["active"],
      targetId: connector.targetId,
      limit: PAGE,
      ...(after === undefined ? {} : { after }),
    });
    if (page.length > 0) {
      const sightings = await connector.observeUsage(page);
      await deps.store.markGrantsUsed(sightings.map((s) => ({ grantId: s.grantId, at: s.at })));
      seen += sightings.length;
    }
    if (page.length < PAGE) return seen;
    after = page.at(-1)?.id;
  }
}

/** One pass over every target that can show usage. A target that cannot be asked is logged and skipped. */
export async function observeUsage(deps: LifecycleDeps, connectors: Iterable<Connector>): Promise<number> {
  let seen = 0;
  for (const connector of connectors) {
    try {
      seen += await observeTarget(deps, connector);
    } catch (error) {
      deps.logger.warn({ target: connector.targetId, err: describeError(error) }, "usage could not be observed");
    }
  }
  return seen;
}

export interface UsageMonitorOptions {
  /** Between passes; 0 turns polling off (the last look before removal still runs). */
  readonly intervalMs: number;
  /** This process among replicas sharing the store: passes run only while it holds the `usage-monitor` lease. */
  readonly replicaId?: string;
}

/** Polls usage on an interval; a pass never overlaps the previous one. */
export class UsageMonitor {
  readonly #task: Periodic<void>;

  constructor(
    private readonly deps: LifecycleDeps,
    connectors: ReadonlyMap<string, Connector>,
    private readonly options: UsageMonitorOptions,
  ) {
    this.#task = new Periodic(
      async () => {
        if (await holdsLease(deps, LEASE, options.replicaId, options.intervalMs)) {
          await observeUsage(deps, connectors.values());
        }
      },
      (error) => deps.logger.warn({ err: describeError(error) }, "usage pass failed"),
    );
  }

  start(): void {
    if (this.options.intervalMs > 0) this.#task.start(this.options.intervalMs);
  }

  async stop(): Promise<void> {
    await this.#task.stop();
    if (this.options.replicaId !== undefined) {
      await this.deps.store.releaseLease(LEASE, this.options.replicaId).catch(() => undefined);
    }
  }
}
