// The privilege report: for a time range, how much access was granted, how long it really lasted, whether its removal
// was proven, and what standing access the last discovery found. Figures come from the store's SQL, not from memory.
import type { Static } from "typebox";
import type { Millis } from "../../domain/types.js";
import type { PrivilegeReportSchema } from "../../wire/index.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { latestDiscovery } from "./reconcile.js";

/** The report as the API and `ephemera report --json` give it (documented in docs/receipts-and-metrics.md). */
export type PrivilegeReport = Static<typeof PrivilegeReportSchema>;

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
