// The approval queue page: pending requests the signed-in person may approve.
import { useState } from "preact/hooks";
import { api, describe, type Request, type SessionInfo } from "../api";
import { Field } from "../components/field";
import { PageTitle } from "../components/page-title";
import { Show } from "../components/show";
import { useStatus } from "../components/status";
import { duration, useLoad, when } from "../hooks";

/** The approval queue: pending requests the signed-in person may approve, with everything they are approving. */
export function QueuePage(props: { session: SessionInfo }) {
  const [loaded, reload] = useLoad(
    async () => {
      const { requests } = await api.get<{ requests: Request[] }>("/v1/requests?state=pending&limit=100");
      const others = requests.filter((r) => r.identity !== props.session.identity.id);
      return Promise.all(
        others.map((r) =>
          api.get<{ request: Request; requester?: { id: string; kind: string; owner: string | null } | null }>(
            `/v1/requests/${encodeURIComponent(r.id)}`,
          ),
        ),
      );
    },
    [],
    5000,
  );
  const [status, say] = useStatus();
  return (
    <section aria-labelledby="page-title">
      <PageTitle>Approval queue</PageTitle>
      {status}
      <Show loaded={loaded} what="the approval queue">
        {(items) =>
          items.length === 0 ? (
            <p class="muted">Nothing is waiting for your approval.</p>
          ) : (
            <ul class="cards">
              {items.map(({ request, requester }) => (
                <li key={request.id}>
                  <PendingCard
                    request={request}
                    owner={requester?.owner ?? null}
                    kind={requester?.kind ?? null}
                    done={(text, kind) => {
                      say(text, kind);
                      reload();
                    }}
                  />
                </li>
              ))}
            </ul>
          )
        }
      </Show>
    </section>
  );
}

function PendingCard(props: {
  request: Request;
  owner: string | null;
  kind: string | null;
  done: (text: string, kind?: "ok" | "error") => void;
}) {
  const r = props.request;
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const id = `req-${r.id}`;
  const needed = r.decision?.approvers ?? [];
  const current = r.approvals.filter((a) => a.current);
  async function act(action: "approve" | "deny") {
    setBusy(true);
    try {
      const path = `/v1/requests/${encodeURIComponent(r.id)}/${action}`;
      if (action === "approve") {
        await api.post(path, { requestHash: r.requestHash, ...(comment ? { note: comment } : {}) });
        props.done(`Approved ${r.entitlement} for ${r.identity}.`);
      } else {
        await api.post(path, comment ? { reason: comment } : {});
        props.done(`Denied ${r.entitlement} for ${r.identity}.`);
      }
    } catch (error) {
      props.done(`Could not ${action}: ${describe(error).error}`, "error");
    } finally {
      setBusy(false);
    }
  }
  return (
    <article class="card pending" aria-labelledby={`${id}-title`} data-request={r.id}>
      <h2 id={`${id}-title`}>
        {r.identity} asks for {r.entitlement}
      </h2>
      <dl>
        <Field label="Identity">
          {r.identity}
          {props.kind ? ` (${props.kind})` : ""}
        </Field>
        <Field label="Owner">{props.owner ?? "no owner"}</Field>
        <Field label="Entitlement">{r.entitlement}</Field>
        <Field label="Duration">{duration(r.durationSeconds)}</Field>
        <Field label="Justification">{r.justification ?? "—"}</Field>
        <Field label="Ticket">{r.ticket ?? "—"}</Field>
        <Field label="Intent">
          {r.intent
            ? [
                r.intent.task ? `task ${r.intent.task}` : null,
                r.intent.actions.join(", ") || null,
                r.intent.description,
              ]
                .filter(Boolean)
                .join(" · ")
            : "—"}
        </Field>
        <Field label="Asked by policy">{r.decision?.policies.join(", ") || "—"}</Field>
        <Field label="Quorum">
          {needed.map((n) => `${n.count} from ${n.group}`).join(", ") || "—"}; {current.length} so far
          {current.length > 0 ? ` (${current.map((a) => a.approver).join(", ")})` : ""}
        </Field>
        {r.decision?.flags.length ? <Field label="Flags">{r.decision.flags.join(", ")}</Field> : null}
        <Field label="Waits until">{when(r.dueAt)}</Field>
        <Field label="Request hash">
          <code>{r.requestHash}</code>
        </Field>
      </dl>
      <label for={`${id}-comment`}>Comment (optional)</label>
      <textarea
        id={`${id}-comment`}
        rows={2}
        maxLength={500}
        value={comment}
        onInput={(e) => setComment(e.currentTarget.value)}
      />
      <div class="actions">
        <button type="button" class="primary" disabled={busy} onClick={() => act("approve")}>
          Approve
        </button>
        <button type="button" class="danger" disabled={busy} onClick={() => act("deny")}>
          Deny
        </button>
        <a href={`#/timeline/request/${encodeURIComponent(r.id)}`}>Timeline</a>
      </div>
    </article>
  );
}
