// The break-glass reviews page: break-glass uses waiting for their after-the-fact review.
import { useState } from "preact/hooks";
import { api, describe, type Request } from "../api";
import { Field } from "../components/field";
import { PageTitle } from "../components/page-title";
import { Show } from "../components/show";
import { useStatus } from "../components/status";
import { useLoad, when } from "../hooks";

/** Break-glass uses whose review is still to be recorded, with a form to record it. */
export function ReviewsPage() {
  const [loaded, reload] = useLoad(async () => {
    const { requests } = await api.get<{ requests: Request[] }>("/v1/requests?state=issued,failed&limit=500");
    return requests.filter((r) => r.breakGlass && r.review && r.review.reviewedAt === null);
  }, []);
  const [status, say] = useStatus();
  return (
    <section aria-labelledby="page-title">
      <PageTitle>Break-glass reviews due</PageTitle>
      {status}
      <Show loaded={loaded} what="break-glass reviews">
        {(due) =>
          due.length === 0 ? (
            <p class="muted">No break-glass use is waiting for review.</p>
          ) : (
            <ul class="cards">
              {due.map((r) => (
                <li key={r.id}>
                  <ReviewCard
                    request={r}
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

function ReviewCard(props: { request: Request; done: (text: string, kind?: "ok" | "error") => void }) {
  const r = props.request;
  const [outcome, setOutcome] = useState("justified");
  const [note, setNote] = useState("");
  const id = `rev-${r.id}`;
  async function submit(e: Event) {
    e.preventDefault();
    try {
      await api.post(`/v1/requests/${encodeURIComponent(r.id)}/review`, { outcome, ...(note ? { note } : {}) });
      props.done(`Review recorded for ${r.id}.`);
    } catch (error) {
      props.done(`Could not record the review: ${describe(error).error}`, "error");
    }
  }
  return (
    <article class="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>
        {r.identity} broke glass for {r.entitlement}
        {r.review?.overdue ? <span class="badge danger"> overdue</span> : null}
      </h2>
      <dl>
        <Field label="Ticket">{r.ticket ?? "—"}</Field>
        <Field label="Justification">{r.justification ?? "—"}</Field>
        <Field label="Review due">{when(r.review?.dueAt)}</Field>
      </dl>
      <form onSubmit={submit}>
        <label for={`${id}-outcome`}>Outcome</label>
        <select id={`${id}-outcome`} value={outcome} onChange={(e) => setOutcome(e.currentTarget.value)}>
          <option value="justified">Justified</option>
          <option value="unjustified">Unjustified</option>
        </select>
        <label for={`${id}-note`}>Note</label>
        <textarea id={`${id}-note`} rows={2} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
        <div class="actions">
          <button type="submit" class="primary">
            Record review
          </button>
          <a href={`#/timeline/request/${encodeURIComponent(r.id)}`}>Timeline</a>
        </div>
      </form>
    </article>
  );
}
