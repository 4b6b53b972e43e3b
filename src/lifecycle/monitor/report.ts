// The privilege report: for a time range, how much access was granted, how long it really lasted, whether its removal
// was proven, and what standing access the last discovery found. Figures come from the store's SQL, not from memory.
import type { Millis } from "../../domain/types.js";
import type { LifecycleDeps } from "../deps.js";
import { latestDiscovery } from "./reconcile.js";

/** The report as the API and `ephemera report --json` give it (documented in docs/receipts-and-metrics.md). */
export interface PrivilegeReport {
  readonly from: string;
  readonly to: string;
  readonly grants: {
    readonly issued: number;
    /** Issued grants that have ended (their removal is due). */
    readonly ended: number;
    readonly verifiedRemoval: number;
    /** verifiedRemoval ÷ ended; null when no grant in the range has ended. The goal is 1. */
    readonly verifiedShare: number | null;
    readonly overrunsOver2s: number;
    /** Grants the target proves were never used: only a definitive observation (every use recorded) says so. */
    readonly unused: number;
    /** Ended grants whose use could have gone unseen (polled sessions, offline-verified tokens): `unused: null`. */
    readonly usageNotObservable: number;
    readonly renewals: number;
  };
  /** Issue → verified removal, nearest-rank; null when no removal in the range is verified. */
  readonly privilegeSeconds: { readonly median: number | null; readonly p99: number | null };
  /** Accounts the broker does not manage, per target, at the last discovery run (empty before the first). */
  readonly standing: readonly { readonly target: string; readonly accounts: number }[];
  /** When that discovery ran; null before the first. */
  readonly discoveredAt: string | null;
}

const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);

export async function privilegeReport(
  deps: LifecycleDeps,
  range: { from: Millis; to: Millis },
): Promise<PrivilegeReport> {
  const figures = await deps.store.grantReport({ ...range, now: deps.clock.now() });
  const discovery = await latestDiscovery(deps);
  return {
    from: new Date(range.from).toISOString(),
    to: new Date(range.to).toISOString(),
    grants: {
      issued: figures.issued,
      ended: figures.ended,
      verifiedRemoval: figures.verifiedRemoval,
      verifiedShare: figures.ended === 0 ? null : figures.verifiedRemoval / figures.ended,
      overrunsOver2s: figures.overrunsOver2s,
      unused: figures.unused,
      usageNotObservable: figures.usageNotObservable,
      renewals: figures.renewals,
    },
    privilegeSeconds: { median: seconds(figures.privilegeMs.median), p99: seconds(figures.privilegeMs.p99) },
    standing: (discovery?.targets ?? [])
      .filter((t) => t.ok)
      .map((t) => ({ target: t.target, accounts: t.standing.length })),
    discoveredAt: discovery ? new Date(discovery.generatedAt).toISOString() : null,
  };
}
