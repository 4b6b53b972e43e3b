// The timeline page of one request or grant: its audit events, removal evidence and receipt.
import { type AuditEvent, api, describe, type Grant, type Request } from "../api";
import { Generic } from "../components/generic";
import { PageTitle } from "../components/page-title";
import { Checks, ReceiptView } from "../components/receipt";
import { Show } from "../components/show";
import { useLoad, when } from "../hooks";

/** A request or grant as the audit events that record it, with the grant's removal evidence and receipt. */
export function TimelinePage(props: { kind: "request" | "grant"; id: string }) {
  const [loaded] = useLoad(
    async () => {
      let request: Request | null = null;
      let grant: Grant | null = null;
      if (props.kind === "request") {
        const found = await api.get<{ request: Request; grant: Grant | null }>(
          `/v1/requests/${encodeURIComponent(props.id)}`,
        );
        request = found.request;
        grant = found.grant;
      } else {
        grant = await api.get<Grant>(`/v1/grants/${encodeURIComponent(props.id)}`);
      }
      let events: AuditEvent[] = [];
      let auditError: string | null = null;
      try {
        const path = props.kind === "request" ? "requests" : "grants";
        ({ events } = await api.get<{ events: AuditEvent[] }>(`/v1/${path}/${encodeURIComponent(props.id)}/events`));
      } catch (error) {
        auditError = `Could not load the audit events: ${describe(error).error}`;
      }
      return { request, grant, events, auditError };
    },
    [props.kind, props.id],
    5000,
  );
  return (
    <section aria-labelledby="page-title">
      <PageTitle>
        Timeline of {props.kind} {props.id}
      </PageTitle>
      <Show loaded={loaded} what={`the ${props.kind}`}>
        {({ request, grant, events, auditError }) => (
          <>
            {request ? (
              <p>
                Request by <strong>{request.identity}</strong> for <strong>{request.entitlement}</strong>:{" "}
                {request.state}
                {request.stateReason ? ` (${request.stateReason})` : ""}
              </p>
            ) : null}
            {grant ? (
              <p>
                Grant <a href={`#/timeline/grant/${encodeURIComponent(grant.id)}`}>{grant.id}</a> is{" "}
                <strong class="grant-state">{grant.state}</strong>
                {grant.endReason ? `, ended: ${grant.endReason}${grant.endedBy ? ` by ${grant.endedBy}` : ""}` : ""}
                {grant.requestId && props.kind === "grant" ? (
                  <>
                    {" "}
                    · <a href={`#/timeline/request/${encodeURIComponent(grant.requestId)}`}>its request</a>
                  </>
                ) : null}
              </p>
            ) : null}
            {auditError ? <p class="error">{auditError}</p> : null}
            <ol class="timeline" aria-label="Audit events">
              {events.map((e) => (
                <li key={e.seq} class={`sev-${e.severity}`} data-code={e.code}>
                  <div class="event-head">
                    <time dateTime={e.time ?? undefined}>{when(e.time)}</time> <strong>{e.code}</strong>{" "}
                    <span class="muted">
                      {e.outcome} · {e.actor.type === "identity" ? e.actor.id : `${e.actor.type} ${e.actor.id}`} · #
                      {e.seq}
                    </span>
                  </div>
                  {Object.keys(e.data).length > 0 ? (
                    <EventData data={e.data} hasReceipt={grant?.receipt != null} />
                  ) : null}
                </li>
              ))}
            </ol>
            {grant?.receipt ? (
              <ReceiptView grant={grant} receipt={grant.receipt} />
            ) : grant?.evidence ? (
              <section class="evidence" aria-labelledby="evidence-title">
                <h2 id="evidence-title">Removal evidence</h2>
                <p>Checked {when(grant.evidence.checkedAt)}</p>
                <Checks checks={grant.evidence.checks} />
              </section>
            ) : grant && grant.state !== "active" && grant.state !== "issuing" ? (
              <p class="muted">No removal receipt yet: removal is {grant.state}.</p>
            ) : null}
          </>
        )}
      </Show>
    </section>
  );
}

/** An event's data; a receipt it carries is shown once, in full, in the receipt section below. */
function EventData(props: { data: Record<string, unknown>; hasReceipt: boolean }) {
  if (!props.hasReceipt || !("receipt" in props.data)) return <Generic value={props.data} />;
  const { receipt: _receipt, ...rest } = props.data;
  return (
    <>
      {Object.keys(rest).length > 0 ? <Generic value={rest} /> : null}
      <p>
        <button
          type="button"
          class="link"
          onClick={() => {
            const heading = document.getElementById("receipt-title");
            heading?.scrollIntoView();
            heading?.focus();
          }}
        >
          Removal receipt below
        </button>
      </p>
    </>
  );
}
