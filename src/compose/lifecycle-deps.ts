// What every lifecycle use case is handed: the store, clock, catalog, decider, observers and the configured settings.
import type { AuditHmac } from "../audit/index.js";
import type { Millis } from "../domain/index.js";
import type { Catalog, LifecycleDeps, LifecycleMetrics } from "../lifecycle/index.js";
import { UsageRecorder, withExpiryHints } from "../lifecycle/index.js";
import { OutboxNotifier } from "../notifications/index.js";
import type { PolicyDecider } from "../policy/index.js";
import type { StartContext } from "./start-context.js";

export interface DepsParts {
  readonly catalog: Catalog;
  readonly decider: PolicyDecider;
  readonly auditHmac: AuditHmac;
  readonly metrics: LifecycleMetrics;
  /** Tells the expiry scheduler when an issued or renewed grant is due. */
  readonly expiryHint: (dueAt: Millis) => void;
}

/** The deps with the configured settings, the webhook outbox and a batching usage recorder. */
export function buildLifecycleDeps(ctx: StartContext, parts: DepsParts): LifecycleDeps {
  const { config, sealer, store, clock, logger } = ctx;
  return {
    sealer,
    store,
    clock,
    logger,
    catalog: parts.catalog,
    decider: parts.decider,
    observer: withExpiryHints(parts.metrics, parts.expiryHint),
    notifier: new OutboxNotifier(config.notifications.webhooks),
    settings: {
      removalClaimMs: config.lifecycle.removalClaimMs,
      retryInitialMs: config.lifecycle.retryInitialMs,
      retryMaxMs: config.lifecycle.retryMaxMs,
      approvals: {
        pendingTimeoutMs: config.approvals.pendingTimeoutMs,
        collectTimeoutMs: config.approvals.collectTimeoutMs,
        breakGlassMaxSeconds: config.approvals.breakGlassMaxSeconds,
        reviewWithinMs: config.approvals.reviewWithinMs,
      },
    },
    random: Math.random,
    auditHmac: parts.auditHmac,
    usage: new UsageRecorder({ store, clock, logger }),
  };
}
