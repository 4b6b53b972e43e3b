// The reports page: the privilege report and charts drawn from the grants.
import { useState } from "preact/hooks";
import { api, type Grant, type PrivilegeReport } from "../api";
import { BarChart, durationHistogram, perDay, perHour } from "../charts";
import { PageTitle } from "../components/page-title";
import { Show } from "../components/show";
import { Tile } from "../components/tile";
import { useLoad, when } from "../hooks";

const DAY = 86_400_000;

function range(days: number): { from: number; to: number } {
  const to = Date.now();
  return { from: to - days * DAY, to };
}

function seconds(s: number | null): string {
  if (s === null) return "—";
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${Math.round(s * 10) / 10} s`;
  if (s < 2 * 3600) return `${Math.round(s / 6) / 10} min`;
  return `${Math.round(s / 360) / 10} h`;
}

/** Every grant the caller may see, page by page (at most `cap`), for the charts the report has no series for. */
async function allGrants(cap = 5000): Promise<{ grants: Grant[]; truncated: boolean }> {
  const grants: Grant[] = [];
  let after: string | null = null;
  do {
    const q = new URLSearchParams({ limit: "500" });
    if (after) q.set("after", after);
    const page: { grants: Grant[]; next: string | null } = await api.get(`/v1/grants?${q}`);
    grants.push(...page.grants);
    after = page.next;
  } while (after && grants.length < cap);
  return { grants, truncated: after !== null };
}

/** Overrun as the report counts it: verified > 2 s after expiry, or not verified and expired > 2 s ago. */
function overrun(g: Grant, now: number): number | null {
  if (!g.expiresAt) return null;
  const expires = Date.parse(g.expiresAt);
  const end = g.verifiedAt ? Date.parse(g.verifiedAt) : now;
  return end - expires > 2000 ? end : null;
}

/** The privilege report (GET /v1/report) and charts drawn from the grants: duration, over time, overruns, unused. */
export function ReportsPage() {
  const [days, setDays] = useState(7);
  const [span, setSpan] = useState(() => range(7));
  const [report] = useLoad(() => {
    const q = new URLSearchParams({ from: new Date(span.from).toISOString(), to: new Date(span.to).toISOString() });
    return api.get<PrivilegeReport>(`/v1/report?${q}`);
  }, [span]);
  const [grants] = useLoad(() => allGrants(), [span]);
  return (
    <section aria-labelledby="page-title">
      <PageTitle>Reports</PageTitle>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label for="range">Period</label>
        <select
          id="range"
          value={String(days)}
          onChange={(e) => {
            const d = Number(e.currentTarget.value);
            setDays(d);
            setSpan(range(d));
          }}
        >
          <option value="1">last day</option>
          <option value="7">last 7 days</option>
          <option value="30">last 30 days</option>
        </select>
      </form>
      <h2>Privilege report</h2>
      <Show loaded={report} what="the privilege report">
        {(r) => (
          <>
            <p class="muted">
              Grants issued from {when(r.from)} to {when(r.to)}.
            </p>
            <ul class="tiles">
              <Tile id="tile-issued" label="Issued" value={r.grants.issued} />
              <Tile id="tile-ended" label="Ended" value={r.grants.ended} />
              <Tile id="tile-verified" label="Removal verified" value={r.grants.verifiedRemoval} />
              <Tile
                id="tile-verified-share"
                label="Verified share (goal 100 %)"
                value={r.grants.verifiedShare === null ? "—" : `${Math.round(r.grants.verifiedShare * 1000) / 10} %`}
              />
              <Tile id="tile-overruns" label="Overruns > 2 s" value={r.grants.overrunsOver2s} />
              <Tile id="tile-unused" label="Unused grants (proven)" value={r.grants.unused} />
              <Tile id="tile-not-observable" label="Usage not observable" value={r.grants.usageNotObservable} />
              <Tile id="tile-renewals" label="Renewals" value={r.grants.renewals} />
              <Tile id="tile-median" label="Privilege median" value={seconds(r.privilegeSeconds.median)} />
              <Tile id="tile-p99" label="Privilege p99" value={seconds(r.privilegeSeconds.p99)} />
            </ul>
            <div class="charts">
              <BarChart
                id="chart-outcomes"
                title="Grants in the period"
                bars={[
                  { label: "issued", value: r.grants.issued },
                  { label: "ended", value: r.grants.ended },
                  { label: "verified", value: r.grants.verifiedRemoval },
                  { label: "overruns", value: r.grants.overrunsOver2s },
                  { label: "unused", value: r.grants.unused },
                ]}
                unit="grants"
              />
              <BarChart
                id="chart-standing"
                title={`Standing accounts per target (discovery ${r.discoveredAt ? when(r.discoveredAt) : "never run"})`}
                bars={r.standing.map((s) => ({ label: s.target, value: s.accounts }))}
                unit="accounts"
              />
            </div>
          </>
        )}
      </Show>
      <h2>Charts from the grants</h2>
      <Show loaded={grants} what="grants">
        {({ grants: list, truncated }) => {
          const inRange = list.filter((g) => {
            const t = g.issuedAt ? Date.parse(g.issuedAt) : Number.NaN;
            return t >= span.from && t < span.to;
          });
          // Issue → verified removal, as the report's privilegeSeconds counts it.
          const held = inRange.flatMap((g) =>
            g.issuedAt && g.verifiedAt ? [(Date.parse(g.verifiedAt) - Date.parse(g.issuedAt)) / 1000] : [],
          );
          const overruns = inRange.flatMap((g) => {
            const at = overrun(g, span.to);
            return at === null ? [] : [at];
          });
          const ended = inRange.filter((g) => g.receipt !== null);
          const bucket = days <= 1 ? perHour : perDay;
          return (
            <>
              {truncated ? <p class="muted">Only the first 5,000 grants are charted.</p> : null}
              <div class="charts">
                <BarChart
                  id="chart-duration"
                  title="Privilege duration distribution (issue → verified removal)"
                  bars={durationHistogram(held)}
                  unit="grants"
                />
                <BarChart
                  id="chart-over-time"
                  title={`Grants issued per ${days <= 1 ? "hour" : "day"}`}
                  bars={bucket(
                    inRange.map((g) => Date.parse(g.issuedAt ?? "")),
                    span.from,
                    span.to,
                  )}
                  unit="grants"
                />
                <BarChart
                  id="chart-overruns"
                  title={`Overruns beyond 2 s, per ${days <= 1 ? "hour" : "day"} of removal`}
                  bars={bucket(overruns, span.from, span.to)}
                  unit="overruns"
                />
                <BarChart
                  id="chart-unused"
                  title="Usage of ended grants (from their receipts)"
                  bars={[
                    { label: "used", value: ended.filter((g) => g.receipt?.unused === false).length },
                    { label: "unused", value: ended.filter((g) => g.receipt?.unused === true).length },
                    { label: "not observable", value: ended.filter((g) => g.receipt?.unused === null).length },
                  ]}
                  unit="grants"
                />
              </div>
            </>
          );
        }}
      </Show>
    </section>
  );
}
