// The privilege report: for a time range, how much access was granted, how long it really lasted, whether its removal
// was proven, and what standing access the last discovery found. Figures come from the store's SQL, not from memory.
import type { Static } from "typebox";
import type { Identity, Millis, RequestFacts } from "../../domain/index.js";
import { EphemeraError } from "../../support/index.js";
import type { PrivilegeReportSchema } from "../../wire/index.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { BROKER, requirePermission } from "../shared/require-permission.js";
import { latestDiscovery } from "./reconcile.js";

/** The report as the API and `ephemera report --json` give it (documented in docs/receipts-and-metrics.md). */
export type PrivilegeReport = Static<typeof PrivilegeReportSchema>;

/** Without `from`, the report covers the day before `to`. */
const DEFAULT_REPORT_SPAN_MS = 24 * 3600 * 1000;

const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);

function instant(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) {
    throw new EphemeraError("invalid_request", `${field}: must be an RFC 3339 date-time such as 2026-01-31T00:00:00Z`, {
      extensions: { field },
    });
  }
  return ms;
}

/**
 * The report for whom policy allows `admin`, over the range asked for as RFC 3339 date-times: `to` defaults to now,
 * `from` to a day before `to`. Anyone else is refused (403, audited) before the range is read.
 */
export async function readPrivilegeReport(
  deps: LifecycleDeps,
  caller: Identity,
  asked: { readonly from?: string | undefined; readonly to?: string | undefined },
  facts: RequestFacts | null = null,
): Promise<PrivilegeReport> {
  await requirePermission(deps, caller, { action: "admin", resource: BROKER, facts }, "the privilege report");
  const to = instant(asked.to, "to") ?? deps.clock.now();
  const from = instant(asked.from, "from") ?? to - DEFAULT_REPORT_SPAN_MS;
  if (from >= to) {
    throw new EphemeraError("invalid_request", "from: must be before to", { extensions: { field: "from" } });
  }
  return privilegeReport(deps, { from, to });
}

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
