// The active grants page: live grants, their countdowns, and revoking them.
import { useState } from "preact/hooks";
import { api, describe, type Grant, type SessionInfo } from "../api";
import { ConfirmBar } from "../components/confirm-bar";
import { PageTitle } from "../components/page-title";
import { Show } from "../components/show";
import { useStatus } from "../components/status";
import { countdown, useLoad, useNow, when } from "../hooks";

/** Active grants with a live countdown to expiry and a revoke button (with confirmation). */
export function GrantsPage(props: { session: SessionInfo }) {
  const [loaded, reload] = useLoad(
    () => api.get<{ grants: Grant[] }>("/v1/grants?state=active,issuing,revoking,revoke_failed&limit=500"),
    [],
    3000,
  );
  const now = useNow();
  const [confirming, setConfirming] = useState<string | null>(null);
  const [status, say] = useStatus();
  async function revoke(grant: Grant) {
    setConfirming(null);
    try {
      await api.post(`/v1/grants/${encodeURIComponent(grant.id)}/revoke`, { reason: "revoked from the console" });
      say(`Revoked ${grant.id}; removal verified.`);
    } catch (error) {
      say(`Could not revoke ${grant.id}: ${describe(error).error}`, "error");
    }
    reload();
  }
  return (
    <section aria-labelledby="page-title">
      <PageTitle>Active grants</PageTitle>
      {props.session.identity.admin ? null : <p class="muted">You see your own grants; admins see every grant.</p>}
      {status}
      <Show loaded={loaded} what="grants">
        {({ grants }) =>
          grants.length === 0 ? (
            <p class="muted">No grant is active.</p>
          ) : (
            <table class="grants">
              <caption class="sr-only">Active grants</caption>
              <thead>
                <tr>
                  <th scope="col">Grant</th>
                  <th scope="col">Identity</th>
                  <th scope="col">Entitlement</th>
                  <th scope="col">State</th>
                  <th scope="col">Expires in</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {grants.map((g) => (
                  <tr key={g.id} data-grant={g.id}>
                    <td>
                      <a href={`#/timeline/grant/${encodeURIComponent(g.id)}`}>{g.id}</a>
                    </td>
                    <td>{g.identity}</td>
                    <td>{g.entitlement}</td>
                    <td>{g.state}</td>
                    <td class="countdown" title={when(g.expiresAt)}>
                      {g.expiresAt ? countdown(Date.parse(g.expiresAt) - now) : "—"}
                    </td>
                    <td>
                      {confirming === g.id ? (
                        <ConfirmBar
                          label={`Revoke ${g.id}?`}
                          confirm="Yes, revoke"
                          onConfirm={() => revoke(g)}
                          onCancel={() => setConfirming(null)}
                        />
                      ) : (
                        <button
                          type="button"
                          class="danger"
                          aria-label={`Revoke ${g.id}`}
                          onClick={() => setConfirming(g.id)}
                        >
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
    </section>
  );
}
