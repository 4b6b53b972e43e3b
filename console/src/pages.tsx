// The console's pages. Each reads the broker's HTTP API and nothing else.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import {
  ApiError,
  type AuditEvent,
  api,
  type Check,
  describe,
  type Grant,
  type Identity,
  type Loaded,
  type OffboardResult,
  type PrivilegeReport,
  type Receipt,
  type Request,
  type SessionInfo,
} from "./api";
import { BarChart, durationHistogram, perDay, perHour } from "./charts";
import { countdown, duration, useLoad, useNow } from "./hooks";

export function Show<T>(props: { loaded: Loaded<T>; what: string; children: (data: T) => ComponentChildren }) {
  const { loaded } = props;
  if (loaded.state === "loading") return <p class="muted">Loading {props.what}…</p>;
  if (loaded.state === "error") {
    return (
      <p class="error" role="alert">
        {loaded.status === 403 ? `Only admins can see ${props.what}.` : `Could not load ${props.what}: ${loaded.error}`}
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

function usage(receipt: Receipt): string {
  const how = receipt.usageObservation
    ? ` (${receipt.usageObservation.method}: ${receipt.usageObservation.detail})`
    : "";
  if (receipt.unused === true) return `never used${how}`;
  if (receipt.unused === false) return `seen in use from ${when(receipt.firstUsedAt)} to ${when(receipt.lastUsedAt)}`;
  return `not observable: use could have gone unseen${how}`;
}

/** The removal receipt: what revoke removed, sessions it ended, and the checks verification made. */
function ReceiptView(props: { grant: Grant; receipt: Receipt }) {
  const r = props.receipt;
  return (
    <section class="receipt" aria-labelledby="receipt-title">
      <h2 id="receipt-title" tabIndex={-1}>
        Removal receipt
      </h2>
      <dl>
        <Field label="Removed">
          {r.removed.length > 0 ? (
            <ul class="removed" aria-label="Removed">
              {r.removed.map((handle) => (
                <li key={handle}>
                  <code>{handle}</code>
                </li>
              ))}
            </ul>
          ) : (
            <span class="muted">nothing left to remove (already gone); verification still checked</span>
          )}
        </Field>
        <Field label="Sessions ended">
          {r.sessionsEnded === null
            ? "not applicable (this target has no sessions)"
            : r.sessionsEnded.count === 0
              ? "none"
              : `${r.sessionsEnded.count}: ${r.sessionsEnded.ids.join(", ")}`}
        </Field>
        <Field label="Revoked">{when(r.revokedAt)}</Field>
        <Field label="Verified">{when(r.verifiedAt)}</Field>
        <Field label="Usage">{usage(r)}</Field>
      </dl>
      <h3>Verification {r.verification ? `(checked ${when(r.verification.checkedAt)})` : ""}</h3>
      {r.verification ? (
        <Checks checks={r.verification.checks} />
      ) : (
        <p class="muted">Removal is not verified yet ({props.grant.state}).</p>
      )}
    </section>
  );
}

/** Verification checks as a table: what was checked, whether it passed, what was observed. */
function Checks(props: { checks: Check[] }) {
  if (props.checks.length === 0) return <p class="muted">No checks recorded.</p>;
  return (
    <table class="checks">
      <caption class="sr-only">Verification checks</caption>
      <thead>
        <tr>
          <th scope="col">Check</th>
          <th scope="col">Result</th>
          <th scope="col">Observed</th>
        </tr>
      </thead>
      <tbody>
        {props.checks.map((c) => (
          <tr key={c.check} data-check={c.check}>
            <td>{c.check}</td>
            <td>{c.passed ? <span class="badge ok">passed</span> : <span class="badge danger">failed</span>}</td>
            <td>{c.observed}</td>
          </tr>
        ))}
      </tbody>
    </table>
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

/**
 * A confirmation that needs a reason (kept in the audit trail): focus lands on the reason, the action cannot be
 * confirmed while it is empty, Escape cancels.
 */
function ReasonConfirm(props: {
  id: string;
  action: "offboard" | "reactivate";
  activeGrants: number;
  onConfirm: (reason: string) => Promise<void>;
  onCancel: () => void;
}) {
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const field = `reason-${props.action}-${props.id}`;
  const verb = props.action === "offboard" ? "Offboard" : "Reactivate";
  return (
    <form
      class="confirm"
      onSubmit={async (e) => {
        e.preventDefault();
        if (!reason.trim()) return;
        setBusy(true);
        try {
          await props.onConfirm(reason.trim());
        } finally {
          setBusy(false);
        }
      }}
      onKeyDown={(e) => {
        if (e.key === "Escape") props.onCancel();
      }}
    >
      <fieldset>
        <legend>
          {`${verb} ${props.id}?`}
          {props.action === "offboard"
            ? ` This disables it for good${props.activeGrants > 0 ? ` and ends its ${props.activeGrants} active grant(s)` : ""}.`
            : ""}
        </legend>
        <label for={field}>Reason (required)</label>
        <input
          id={field}
          ref={input}
          required
          maxLength={500}
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
        />
        <button
          type="submit"
          class={props.action === "offboard" ? "danger" : "primary"}
          disabled={busy || !reason.trim()}
        >
          {`Yes, ${props.action}`}
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </fieldset>
    </form>
  );
}

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

function Tile(props: { id: string; label: string; value: string | number }) {
  return (
    <li class="tile" id={props.id}>
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
