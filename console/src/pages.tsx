// The console's pages. Each reads the broker's HTTP API and nothing else.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { type AuditEvent, api, describe, type Grant, type Loaded, type Request, type SessionInfo } from "./api";
import { BarChart, durationHistogram, perDay } from "./charts";
import { countdown, duration, useLoad, useNow } from "./hooks";

export function Show<T>(props: { loaded: Loaded<T>; what: string; children: (data: T) => ComponentChildren }) {
  const { loaded } = props;
  if (loaded.state === "loading") return <p class="muted">Loading {props.what}…</p>;
  if (loaded.state === "error") {
    return (
      <p class="error" role="alert">
        {loaded.status === 403
          ? `Only admins can see ${props.what}.`
          : loaded.status === 404
            ? `Not available on this broker: ${loaded.error}`
            : `Could not load ${props.what}: ${loaded.error}`}
      </p>
    );
  }
  return <>{props.children(loaded.data)}</>;
}

/** A status line read out by screen readers when it changes. */
function useStatus(): [ComponentChildren, (text: string, kind?: "ok" | "error") => void] {
  const [status, setStatus] = useState<{ text: string; kind: string } | null>(null);
  const node = (
    <p class={status?.kind === "error" ? "error" : "ok"} role="status" aria-live="polite">
      {status?.text ?? ""}
    </p>
  );
  return [node, (text, kind = "ok") => setStatus({ text, kind })];
}

function Field(props: { label: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </>
  );
}

const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : "—");

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

/** An inline confirmation: focus lands on Cancel, so a stray Enter does nothing harmful; Escape cancels. */
function ConfirmBar(props: { label: string; confirm: string; onConfirm: () => void; onCancel: () => void }) {
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => cancel.current?.focus(), []);
  return (
    <fieldset
      class="confirm"
      onKeyDown={(e) => {
        if (e.key === "Escape") props.onCancel();
      }}
    >
      <legend>{props.label}</legend>
      <button type="button" class="danger" onClick={props.onConfirm}>
        {props.confirm}
      </button>
      <button type="button" ref={cancel} onClick={props.onCancel}>
        Cancel
      </button>
    </fieldset>
  );
}

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
                    <time dateTime={e.time}>{when(e.time)}</time> <strong>{e.code}</strong>{" "}
                    <span class="muted">
                      {e.outcome} · {e.actor.type === "identity" ? e.actor.id : `${e.actor.type} ${e.actor.id}`} · #
                      {e.seq}
                    </span>
                  </div>
                  {Object.keys(e.data).length > 0 ? <Generic value={e.data} /> : null}
                </li>
              ))}
            </ol>
            {grant?.evidence ? (
              <section class="evidence" aria-labelledby="evidence-title">
                <h2 id="evidence-title">Removal evidence</h2>
                <p>Checked {when(grant.evidence.checkedAt)}</p>
                <Generic value={grant.evidence.checks} />
              </section>
            ) : null}
            {grant?.receipt ? (
              <section class="receipt" aria-labelledby="receipt-title">
                <h2 id="receipt-title">Receipt</h2>
                <Generic value={grant.receipt} />
              </section>
            ) : null}
          </>
        )}
      </Show>
    </section>
  );
}

/** Renders any JSON value as nested definition lists (receipts and event data have no fixed shape here). */
export function Generic(props: { value: unknown; name?: string }): preact.JSX.Element {
  const v = props.value;
  // Times recorded as epoch milliseconds (`expiresAt: 1795…`) read better as dates.
  if (typeof v === "number" && props.name?.endsWith("At") && v > 1e12) {
    return <time dateTime={new Date(v).toISOString()}>{when(new Date(v).toISOString())}</time>;
  }
  if (v === null || v === undefined) return <span class="muted">—</span>;
  if (Array.isArray(v)) {
    if (v.length === 0) return <span class="muted">none</span>;
    return (
      <ul class="generic">
        {v.map((item, i) => (
          <li key={i}>
            <Generic value={item} />
          </li>
        ))}
      </ul>
    );
  }
  if (typeof v === "object") {
    return (
      <dl class="generic">
        {Object.entries(v as Record<string, unknown>).map(([k, item]) => (
          <Field key={k} label={k}>
            <Generic value={item} name={k} />
          </Field>
        ))}
      </dl>
    );
  }
  return <span>{String(v)}</span>;
}

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

interface Report {
  from: string;
  to: string;
  grants: {
    issued: number;
    verifiedRemoval: number;
    verifiedShare: number;
    overrunsOver2s: number;
    unused: number;
    renewals: number;
  };
  privilegeSeconds: { median: number; p99: number };
  standing: { target: string; accounts: number }[];
}

/** Standing privilege per target: the last reconciliation, and the governance report's counts. */
export function StandingPage() {
  const [loaded, reload] = useLoad(() => api.get<Discovery>("/v1/discovery"), []);
  const [report] = useLoad(() => api.get<Report>(`/v1/report?${rangeQuery(30)}`), []);
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
        {(d) => (
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
          </>
        )}
      </Show>
      <h2>Standing accounts in the governance report (last 30 days)</h2>
      <Show loaded={report} what="the governance report">
        {(r) => (
          <BarChart
            id="chart-standing"
            title="Standing accounts per target"
            bars={r.standing.map((s) => ({ label: s.target, value: s.accounts }))}
          />
        )}
      </Show>
    </section>
  );
}

interface Identity {
  id: string;
  kind: string;
  owner: string | null;
  unowned: boolean;
  groups: string[];
  status: string;
  statusReason: string | null;
  firstSeenAt: string | null;
  lastSeenAt: string | null;
  activeGrants: number;
}

/** The identity inventory: owners, dormant identities, and offboarding with confirmation. */
export function IdentitiesPage() {
  const [statusFilter, setStatusFilter] = useState("");
  const [owner, setOwner] = useState("");
  const [loaded, reload] = useLoad(() => {
    const q = new URLSearchParams({ limit: "500" });
    if (statusFilter) q.set("status", statusFilter);
    if (owner) q.set("owner", owner);
    return api.get<{ identities: Identity[]; next: string | null }>(`/v1/identities?${q}`);
  }, [statusFilter, owner]);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [reason, setReason] = useState("");
  const [status, say] = useStatus();
  async function offboard(id: string) {
    try {
      await api.post(`/v1/identities/${encodeURIComponent(id)}/offboard`, {
        reason: reason || "offboarded in console",
      });
      say(`Offboarded ${id}.`);
      setConfirming(null);
      setReason("");
      reload();
    } catch (error) {
      say(`Could not offboard ${id}: ${describe(error).error}`, "error");
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
      </form>
      {status}
      <Show loaded={loaded} what="the identity inventory">
        {({ identities }) => (
          <table>
            <caption class="sr-only">Identities</caption>
            <thead>
              <tr>
                <th scope="col">Identity</th>
                <th scope="col">Kind</th>
                <th scope="col">Owner</th>
                <th scope="col">Status</th>
                <th scope="col">Last seen</th>
                <th scope="col">Active grants</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {identities.map((i) => (
                <tr key={i.id} class={i.status === "dormant" ? "dormant" : ""}>
                  <td>{i.id}</td>
                  <td>{i.kind}</td>
                  <td>{i.unowned ? <span class="badge danger">unowned</span> : (i.owner ?? "—")}</td>
                  <td>
                    {i.status}
                    {i.statusReason ? ` (${i.statusReason})` : ""}
                  </td>
                  <td>{when(i.lastSeenAt)}</td>
                  <td>{i.activeGrants}</td>
                  <td>
                    {i.status === "offboarded" ? null : confirming === i.id ? (
                      <fieldset class="confirm">
                        <legend>{`Offboard ${i.id}?`}</legend>
                        <label for={`reason-${i.id}`}>Reason</label>
                        <input id={`reason-${i.id}`} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
                        <button type="button" class="danger" onClick={() => offboard(i.id)}>
                          Yes, offboard
                        </button>
                        <button type="button" onClick={() => setConfirming(null)}>
                          Cancel
                        </button>
                      </fieldset>
                    ) : (
                      <button
                        type="button"
                        class="danger"
                        aria-label={`Offboard ${i.id}`}
                        onClick={() => setConfirming(i.id)}
                      >
                        Offboard
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
    </section>
  );
}

function rangeQuery(days: number): string {
  const to = new Date();
  const from = new Date(to.getTime() - days * 86_400_000);
  return new URLSearchParams({ from: from.toISOString(), to: to.toISOString() }).toString();
}

/** Charts: privilege duration, grants over time, overruns and unused grants. */
export function ReportsPage() {
  const [days, setDays] = useState(7);
  const [report] = useLoad(() => api.get<Report>(`/v1/report?${rangeQuery(days)}`), [days]);
  const [grants] = useLoad(() => api.get<{ grants: Grant[] }>("/v1/grants?limit=500"), []);
  const now = Date.now();
  return (
    <section aria-labelledby="page-title">
      <PageTitle>Reports</PageTitle>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label for="range">Period</label>
        <select id="range" value={String(days)} onChange={(e) => setDays(Number(e.currentTarget.value))}>
          <option value="1">last day</option>
          <option value="7">last 7 days</option>
          <option value="30">last 30 days</option>
        </select>
      </form>
      <h2>Governance report</h2>
      <Show loaded={report} what="the governance report">
        {(r) => (
          <>
            <ul class="tiles">
              <Tile label="Issued" value={r.grants.issued} />
              <Tile label="Removal verified" value={`${Math.round(r.grants.verifiedShare * 1000) / 10} %`} />
              <Tile label="Overruns > 2 s" value={r.grants.overrunsOver2s} />
              <Tile label="Unused grants" value={r.grants.unused} />
              <Tile label="Renewals" value={r.grants.renewals} />
              <Tile
                label="Privilege median / p99"
                value={`${r.privilegeSeconds.median} s / ${r.privilegeSeconds.p99} s`}
              />
            </ul>
            <BarChart
              id="chart-outcomes"
              title="Grants in the period"
              bars={[
                { label: "issued", value: r.grants.issued },
                { label: "verified", value: r.grants.verifiedRemoval },
                { label: "overruns", value: r.grants.overrunsOver2s },
                { label: "unused", value: r.grants.unused },
              ]}
            />
          </>
        )}
      </Show>
      <h2>From the grants the broker holds</h2>
      <Show loaded={grants} what="grants">
        {({ grants: list }) => {
          const from = now - days * 86_400_000;
          const inRange = list.filter((g) => g.issuedAt && Date.parse(g.issuedAt) >= from);
          const held = inRange.map(
            (g) => ((g.endedAt ? Date.parse(g.endedAt) : now) - Date.parse(g.issuedAt ?? "")) / 1000,
          );
          const overruns = inRange.filter(
            (g) => g.verifiedAt && g.expiresAt && Date.parse(g.verifiedAt) - Date.parse(g.expiresAt) > 2000,
          );
          return (
            <div class="charts">
              <BarChart
                id="chart-duration"
                title="Privilege duration distribution"
                bars={durationHistogram(held)}
                unit="grants"
              />
              <BarChart
                id="chart-over-time"
                title="Grants issued per day"
                bars={perDay(
                  inRange.map((g) => Date.parse(g.issuedAt ?? "")),
                  from,
                  now,
                )}
                unit="grants"
              />
              <BarChart
                id="chart-overruns"
                title="Removals verified more than 2 s after expiry, per day"
                bars={perDay(
                  overruns.map((g) => Date.parse(g.verifiedAt ?? "")),
                  from,
                  now,
                )}
                unit="overruns"
              />
            </div>
          );
        }}
      </Show>
    </section>
  );
}

function Tile(props: { label: string; value: string | number }) {
  return (
    <li class="tile">
      <span class="tile-value">{props.value}</span>
      <span class="tile-label">{props.label}</span>
    </li>
  );
}

/** The page heading; focus moves to it when the page changes, so keyboard and screen-reader users start there. */
export function PageTitle(props: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <h1 id="page-title" tabIndex={-1} ref={ref}>
      {props.children}
    </h1>
  );
}
