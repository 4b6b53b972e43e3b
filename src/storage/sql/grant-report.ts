// Grant figures both dialects compute the same way from what their SQL returns: the report and counts by state.
import type { GrantState } from "../../domain/index.js";
import { GRANT_STATES } from "../port-rules.js";
import type { GrantReport } from "../store.js";

/** The report statement's row; drivers return the sums as numbers or as numeric text. */
export interface GrantReportRow {
  readonly issued: number | string;
  readonly ended: number | string;
  readonly verified: number | string;
  readonly overruns: number | string;
  readonly unused: number | string;
  readonly not_observable: number | string;
  readonly renewals: number | string;
}

/** Nearest-rank: the 0-based offset of the `q` quantile among `n` sorted values. */
export function rankOffset(q: number, n: number): number {
  return Math.max(0, Math.ceil(q * n) - 1);
}

/** How many grants were verified: the count the percentiles rank among. */
export function verifiedCount(row: GrantReportRow | undefined): number {
  return Number(row?.verified ?? 0);
}

export function grantReportOf(
  row: GrantReportRow | undefined,
  privilegeMs: { median: number | null; p99: number | null },
): GrantReport {
  return {
    issued: Number(row?.issued ?? 0),
    ended: Number(row?.ended ?? 0),
    verifiedRemoval: verifiedCount(row),
    overrunsOver2s: Number(row?.overruns ?? 0),
    unused: Number(row?.unused ?? 0),
    usageNotObservable: Number(row?.not_observable ?? 0),
    renewals: Number(row?.renewals ?? 0),
    privilegeMs,
  };
}

/** Counts by state with every state present: a gauge that drops to nothing must read 0, not vanish. */
export function countsByState(rows: readonly { state: string; n: number }[]): ReadonlyMap<GrantState, number> {
  const counts = new Map<GrantState, number>(GRANT_STATES.map((state) => [state, 0]));
  for (const row of rows) counts.set(row.state as GrantState, row.n);
  return counts;
}
