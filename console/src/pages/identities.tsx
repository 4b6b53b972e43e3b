// The identities page: the inventory, with offboarding and reactivation.
import { useState } from "preact/hooks";
import { api, describe, type Identity, type OffboardResult } from "../api";
import { PageTitle } from "../components/page-title";
import { ReasonConfirm } from "../components/reason-confirm";
import { Show } from "../components/show";
import { useStatus } from "../components/status";
import { useLoad, when } from "../hooks";

type Pending = { id: string; action: "offboard" | "reactivate" } | null;

/** The identity inventory: owners (and who has none), dormant identities, offboarding with a reason. */
export function IdentitiesPage() {
  const [statusFilter, setStatusFilter] = useState("");
  const [owner, setOwner] = useState("");
  const [unownedOnly, setUnownedOnly] = useState(false);
  const [loaded, reload] = useLoad(async () => {
    const q = new URLSearchParams({ limit: "500" });
    if (statusFilter) q.set("status", statusFilter);
    if (owner.trim()) q.set("owner", owner.trim());
    if (unownedOnly) q.set("unowned", "true");
    return api.get<{ identities: Identity[]; next: string | null }>(`/v1/identities?${q}`);
  }, [statusFilter, owner, unownedOnly]);
  const [pending, setPending] = useState<Pending>(null);
  const [status, say] = useStatus();
  async function act(id: string, action: "offboard" | "reactivate", reason: string) {
    try {
      const path = `/v1/identities/${encodeURIComponent(id)}/${action}`;
      if (action === "offboard") {
        const result = await api.post<OffboardResult>(path, { reason });
        const ended = result.grants.map((g) => `${g.id} (${g.state})`).join(", ");
        say(
          `Offboarded ${id}.${result.changed ? "" : " It already was."} Grants ended: ${ended || "none"}.` +
            (result.removalsPending > 0 ? ` ${result.removalsPending} removal(s) not verified yet, retried.` : "") +
            (result.cancelledRequests.length > 0 ? ` Requests cancelled: ${result.cancelledRequests.join(", ")}.` : ""),
          result.removalsPending > 0 ? "error" : "ok",
        );
      } else {
        await api.post<Identity>(path, { reason });
        say(`Reactivated ${id}.`);
      }
      setPending(null);
      reload();
    } catch (error) {
      say(`Could not ${action} ${id}: ${describe(error).error}`, "error");
    }
  }
  return (
    <section aria-labelledby="page-title">
      <PageTitle>Identity inventory</PageTitle>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label for="filter-status">Status</label>
        <select id="filter-status" value={statusFilter} onChange={(e) => setStatusFilter(e.currentTarget.value)}>
          <option value="">any</option>
          <option value="active">active</option>
          <option value="dormant">dormant</option>
          <option value="offboarded">offboarded</option>
        </select>
        <label for="filter-owner">Owner</label>
        <input id="filter-owner" value={owner} onChange={(e) => setOwner(e.currentTarget.value)} />
        <label>
          <input type="checkbox" checked={unownedOnly} onChange={(e) => setUnownedOnly(e.currentTarget.checked)} /> Only
          unowned
        </label>
      </form>
      {status}
      <Show loaded={loaded} what="the identity inventory">
        {({ identities, next }) => (
          <>
            <p class="muted">
              {identities.length} identities · {identities.filter((i) => i.unowned).length} unowned ·{" "}
              {identities.filter((i) => i.status === "dormant").length} dormant
              {next ? " · more than shown; narrow the filters" : ""}
            </p>
            <table class="identities">
              <caption class="sr-only">Identities</caption>
              <thead>
                <tr>
                  <th scope="col">Identity</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Owner</th>
                  <th scope="col">Status</th>
                  <th scope="col">First seen</th>
                  <th scope="col">Last seen</th>
                  <th scope="col">Active grants</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {identities.map((i) => (
                  <tr key={i.id} class={i.status} data-identity={i.id}>
                    <td>
                      {i.id}
                      {i.admin ? <span class="muted"> (admin)</span> : null}
                    </td>
                    <td>{i.kind}</td>
                    <td>
                      {i.unowned ? <span class="badge danger">unowned</span> : null} {i.owner ?? (i.unowned ? "" : "—")}
                    </td>
                    <td class="identity-status">
                      {i.status === "active" ? (
                        "active"
                      ) : (
                        <span class={`badge ${i.status === "offboarded" ? "danger" : "warn"}`}>{i.status}</span>
                      )}
                      {i.statusReason ? <span class="muted"> {i.statusReason}</span> : null}
                    </td>
                    <td>{when(i.firstSeenAt)}</td>
                    <td>{when(i.lastSeenAt)}</td>
                    <td>
                      {i.activeGrants}
                      {i.activeGrantIds.length > 0 ? (
                        <ul class="inline">
                          {i.activeGrantIds.map((g) => (
                            <li key={g}>
                              <a href={`#/timeline/grant/${encodeURIComponent(g)}`}>{g}</a>
                            </li>
                          ))}
                        </ul>
                      ) : null}
                    </td>
                    <td>
                      {pending?.id === i.id ? (
                        <ReasonConfirm
                          id={i.id}
                          action={pending.action}
                          activeGrants={i.activeGrants}
                          onConfirm={(reason) => act(i.id, pending.action, reason)}
                          onCancel={() => setPending(null)}
                        />
                      ) : i.status === "offboarded" ? null : (
                        <>
                          {i.status === "dormant" ? (
                            <button
                              type="button"
                              aria-label={`Reactivate ${i.id}`}
                              onClick={() => setPending({ id: i.id, action: "reactivate" })}
                            >
                              Reactivate
                            </button>
                          ) : null}
                          <button
                            type="button"
                            class="danger"
                            aria-label={`Offboard ${i.id}`}
                            onClick={() => setPending({ id: i.id, action: "offboard" })}
                          >
                            Offboard
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </Show>
    </section>
  );
}
