// The standing privilege page: accounts per target as the last reconciliation found them.
import { ApiError, api, describe } from "../api";
import { BarChart } from "../charts";
import { PageTitle } from "../components/page-title";
import { Show } from "../components/show";
import { useStatus } from "../components/status";
import { useLoad, when } from "../hooks";

interface Discovery {
  generatedAt: string;
  targets: {
    target: string;
    type: string;
    ok: boolean;
    error: string | null;
    accounts: number;
    held: number;
    standing: { handle: string; privileges: string[]; admin: boolean; broker: boolean }[];
  }[];
}

/** Standing privilege per target: the last reconciliation (GET /v1/discovery; none until one has run). */
export function StandingPage() {
  const [loaded, reload] = useLoad(async () => {
    try {
      return await api.get<Discovery>("/v1/discovery");
    } catch (error) {
      // 404 here means "no reconciliation has run yet", not a missing API.
      if (error instanceof ApiError && error.status === 404 && error.code === "not_found") return null;
      throw error;
    }
  }, []);
  const [status, say] = useStatus();
  async function reconcile() {
    try {
      await api.post("/v1/discovery", {});
      say("Reconciled every target.");
      reload();
    } catch (error) {
      say(`Could not reconcile: ${describe(error).error}`, "error");
    }
  }
  return (
    <section aria-labelledby="page-title">
      <PageTitle>Standing privilege</PageTitle>
      {status}
      <div class="actions">
        <button type="button" onClick={reconcile}>
          Reconcile now
        </button>
      </div>
      <Show loaded={loaded} what="the discovery report">
        {(d) =>
          d === null ? (
            <p class="muted">No reconciliation has run yet. Reconcile now to list the accounts in every target.</p>
          ) : (
            <>
              <p class="muted">Last reconciliation {when(d.generatedAt)}</p>
              <table>
                <caption class="sr-only">Accounts per target</caption>
                <thead>
                  <tr>
                    <th scope="col">Target</th>
                    <th scope="col">Type</th>
                    <th scope="col">Accounts</th>
                    <th scope="col">Held by grants</th>
                    <th scope="col">Standing</th>
                    <th scope="col">Standing accounts</th>
                  </tr>
                </thead>
                <tbody>
                  {d.targets.map((t) => (
                    <tr key={t.target}>
                      <td>{t.target}</td>
                      <td>{t.type}</td>
                      <td>{t.ok ? t.accounts : <span class="error">{t.error}</span>}</td>
                      <td>{t.held}</td>
                      <td>{t.standing.length}</td>
                      <td>
                        {t.standing
                          .map((a) => `${a.handle}${a.admin ? " (admin)" : ""}${a.broker ? " (broker)" : ""}`)
                          .join(", ") || "—"}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <div class="charts">
                <BarChart
                  id="chart-standing"
                  title="Standing accounts per target"
                  bars={d.targets.filter((t) => t.ok).map((t) => ({ label: t.target, value: t.standing.length }))}
                  unit="accounts"
                />
              </div>
            </>
          )
        }
      </Show>
    </section>
  );
}
