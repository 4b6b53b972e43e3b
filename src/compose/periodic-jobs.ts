// The broker's periodic jobs: built from the lifecycle's deps, started once the broker can serve, stopped on close.
import type { Connector } from "../connectors/index.js";
import type { LifecycleDeps, LifecycleMetrics } from "../lifecycle/index.js";
import {
  ApprovalSweeper,
  DormancyMonitor,
  ExpiryScheduler,
  HistoryRetention,
  Maintenance,
  UsageMonitor,
} from "../lifecycle/index.js";
import { WebhookDelivery } from "../notifications/index.js";
import type { AuditJobs } from "./audit-services.js";
import { type StartContext, turnTaker } from "./start-context.js";

/** The jobs that run beside the expiry scheduler; dormancy and retention are null when turned off. */
export interface LifecycleJobs {
  readonly maintenance: Maintenance;
  readonly usage: UsageMonitor;
  readonly approvals: ApprovalSweeper;
  readonly dormancy: DormancyMonitor | null;
  readonly retention: HistoryRetention | null;
  readonly notifications: WebhookDelivery;
}

export interface PeriodicJobs extends LifecycleJobs {
  readonly scheduler: ExpiryScheduler;
  readonly audit: AuditJobs;
}

/** The expiry scheduler; it is built before anything issues, since issuing tells it when a grant is due. */
export function buildScheduler(ctx: StartContext, deps: LifecycleDeps): ExpiryScheduler {
  const { lifecycle } = ctx.config;
  return new ExpiryScheduler(deps, {
    batch: lifecycle.schedulerBatch,
    concurrency: lifecycle.removalConcurrency,
    pollIntervalMs: lifecycle.pollIntervalMs,
  });
}

/** Reconciliation and admin rotation, usage polling, approval sweeps, dormancy, retention and webhook delivery. */
export function buildLifecycleJobs(
  ctx: StartContext,
  deps: LifecycleDeps,
  connectors: ReadonlyMap<string, Connector>,
  metrics: LifecycleMetrics,
): LifecycleJobs {
  const { config, store, clock, logger } = ctx;
  const maintenance = new Maintenance(
    deps,
    connectors,
    {
      reconcileIntervalMs: config.reconcileIntervalMs,
      rotations: new Map(
        config.targets.flatMap((t) => (t.adminRotationSeconds === null ? [] : [[t.id, t.adminRotationSeconds]])),
      ),
      ...turnTaker(ctx),
    },
    metrics,
  );
  const usage = new UsageMonitor(deps, connectors, { intervalMs: config.usageIntervalMs, ...turnTaker(ctx) });
  const approvals = new ApprovalSweeper(deps, { intervalMs: config.approvals.sweepIntervalMs, ...turnTaker(ctx) });
  const dormancy = config.identityLifecycle.dormantAfterMs
    ? new DormancyMonitor(deps, {
        dormantAfterMs: config.identityLifecycle.dormantAfterMs,
        intervalMs: config.identityLifecycle.checkIntervalMs,
        ...turnTaker(ctx),
      })
    : null;
  const retention =
    config.retention.endedGrantsMs === null
      ? null
      : new HistoryRetention(deps, {
          keepMs: config.retention.endedGrantsMs,
          intervalMs: config.retention.checkIntervalMs,
          ...turnTaker(ctx),
        });
  const notifications = new WebhookDelivery({
    store,
    clock,
    logger,
    webhooks: config.notifications.webhooks,
    retryInitialMs: config.notifications.retryInitialMs,
    retryMaxMs: config.notifications.retryMaxMs,
    observe: (outcome, sink) => metrics.notification(outcome, sink),
  });
  return { maintenance, usage, approvals, dormancy, retention, notifications };
}

/** Starts every job's timer; webhook delivery looks for due notifications every second. */
export function startJobs(jobs: PeriodicJobs): void {
  jobs.scheduler.start();
  jobs.maintenance.start();
  jobs.approvals.start();
  jobs.notifications.start(1000);
  jobs.audit.checkpointer?.start();
  jobs.audit.stream?.start();
  jobs.dormancy?.start();
  jobs.retention?.start();
  jobs.usage.start();
}

/** Stops each job, waiting for a pass under way to finish. */
export async function stopJobs(jobs: PeriodicJobs): Promise<void> {
  await jobs.scheduler.stop();
  await jobs.maintenance.stop();
  await jobs.approvals.stop();
  await jobs.audit.checkpointer?.stop();
  await jobs.audit.stream?.stop();
  await jobs.notifications.stop();
  await jobs.dormancy?.stop();
  await jobs.retention?.stop();
  await jobs.usage.stop();
}
