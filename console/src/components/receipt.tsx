// A grant's removal receipt: what was removed, the sessions ended, the checks verification made, and use seen.
import type { Check, Grant, Receipt } from "../api";
import { when } from "../hooks";
import { Field } from "./field";

function usage(receipt: Receipt): string {
  const how = receipt.usageObservation
    ? ` (${receipt.usageObservation.method}: ${receipt.usageObservation.detail})`
    : "";
  if (receipt.unused === true) return `never used${how}`;
  if (receipt.unused === false) return `seen in use from ${when(receipt.firstUsedAt)} to ${when(receipt.lastUsedAt)}`;
  return `not observable: use could have gone unseen${how}`;
}

/** The removal receipt: what revoke removed, sessions it ended, and the checks verification made. */
export function ReceiptView(props: { grant: Grant; receipt: Receipt }) {
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
export function Checks(props: { checks: Check[] }) {
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
