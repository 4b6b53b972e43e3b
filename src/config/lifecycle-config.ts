// Timings of the grant lifecycle: removal workers and retries, approval timeouts and break-glass, retention of ended grants.
import { DEFAULTS } from "./defaults.js";
import type { ConfigReader } from "./reader.js";
import type { RawConfig } from "./schema.js";

export interface LifecycleConfig {
  readonly removalClaimMs: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  readonly removalConcurrency: number;
  readonly schedulerBatch: number;
  readonly pollIntervalMs: number;
}

export interface ApprovalsConfig {
  readonly pendingTimeoutMs: number;
  readonly collectTimeoutMs: number;
  readonly sweepIntervalMs: number;
  readonly breakGlassMaxSeconds: number;
  readonly reviewWithinMs: number;
}

export interface RetentionConfig {
  readonly endedGrantsMs: number | null;
  readonly checkIntervalMs: number;
}

export function lifecycleConfig(raw: RawConfig["lifecycle"], r: ConfigReader): LifecycleConfig {
  const lc = raw ?? {};
  const d = DEFAULTS.lifecycle;
  return {
    removalClaimMs: r.seconds(lc.removalClaim, "lifecycle.removalClaim", d.removalClaim) * 1000,
    retryInitialMs: r.seconds(lc.retryInitial, "lifecycle.retryInitial", d.retryInitial) * 1000,
    retryMaxMs: r.seconds(lc.retryMax, "lifecycle.retryMax", d.retryMax) * 1000,
    removalConcurrency: lc.removalConcurrency ?? d.removalConcurrency,
    schedulerBatch: lc.schedulerBatch ?? d.schedulerBatch,
    pollIntervalMs: r.seconds(lc.pollInterval, "lifecycle.pollInterval", d.pollInterval) * 1000,
  };
}

/** Approval timeouts and break-glass limits; each must be more than zero. */
export function approvalsConfig(raw: RawConfig["approvals"], r: ConfigReader): ApprovalsConfig {
  const ap = raw ?? {};
  const d = DEFAULTS.approvals;
  const approvals: ApprovalsConfig = {
    pendingTimeoutMs: r.seconds(ap.pendingTimeout, "approvals.pendingTimeout", d.pendingTimeout) * 1000,
    collectTimeoutMs: r.seconds(ap.collectTimeout, "approvals.collectTimeout", d.collectTimeout) * 1000,
    sweepIntervalMs: r.seconds(ap.sweepInterval, "approvals.sweepInterval", d.sweepInterval) * 1000,
    breakGlassMaxSeconds: r.seconds(
      ap.breakGlass?.maxDuration,
      "approvals.breakGlass.maxDuration",
      d.breakGlass.maxDuration,
    ),
    reviewWithinMs:
      r.seconds(ap.breakGlass?.reviewWithin, "approvals.breakGlass.reviewWithin", d.breakGlass.reviewWithin) * 1000,
  };
  for (const [name, value] of Object.entries(approvals)) {
    if (value <= 0) r.problems.push(`approvals.${name.replace(/Ms$|Seconds$/, "")}: must be more than zero`);
  }
  return approvals;
}

/** Ended grants are kept forever unless `endedGrants` says how long (at least a day). */
export function retentionConfig(raw: RawConfig["retention"], r: ConfigReader): RetentionConfig {
  const rt = raw ?? {};
  const endedGrants = rt.endedGrants ?? DEFAULTS.retention.endedGrants;
  const keepSeconds = endedGrants === "forever" ? null : r.seconds(endedGrants, "retention.endedGrants", 0);
  if (keepSeconds !== null && keepSeconds < 86_400) {
    r.problems.push("retention.endedGrants: must be at least 1d, or forever (the default)");
  }
  const retention = {
    endedGrantsMs: keepSeconds === null ? null : keepSeconds * 1000,
    checkIntervalMs: r.seconds(rt.checkInterval, "retention.checkInterval", DEFAULTS.retention.checkInterval) * 1000,
  };
  if (retention.checkIntervalMs <= 0) r.problems.push("retention.checkInterval: must be more than zero");
  return retention;
}
