// Every audit event code, grouped by lifecycle stage, with its severity. Codes are stable: tools and SIEM rules match on them.
import type { Severity } from "../domain/index.js";

export const AUDIT_CODES = {
  // authenticate
  "auth.failed": { severity: "warning", meaning: "a caller presented a missing, malformed or unknown credential" },
  "auth.forbidden": { severity: "warning", meaning: "an authenticated caller tried something it may not do" },
  "auth.session_opened": {
    severity: "notice",
    meaning:
      "a person exchanged an ID token from the identity provider for a short-lived broker session (command line); its token is never stored",
  },
  "auth.session_ended": { severity: "info", meaning: "a person ended their command-line broker session" },
  "auth.replayed": {
    severity: "warning",
    meaning: "a single-use workload token or DPoP proof was presented again to request access; refused",
  },
  // identities
  "identity.registered": {
    severity: "notice",
    meaning: "the broker registered an identity (from the config file or a trust rule), with its owner and attributes",
  },
  "identity.updated": {
    severity: "notice",
    meaning: "an identity's definition changed (kind, owner, groups, attributes or admin); the event lists each change",
  },
  "identity.dormant": {
    severity: "notice",
    meaning:
      "an identity unseen for identityLifecycle.dormantAfter was marked dormant; it cannot authenticate until reactivated",
  },
  "identity.reactivated": {
    severity: "notice",
    meaning: "an admin reactivated a dormant identity, with the reason given",
  },
  "identity.offboarded": {
    severity: "alert",
    meaning:
      "an admin offboarded an identity: its grants were ended and its pending requests cancelled (ids and correlation id listed)",
  },
  // request
  "request.rejected": { severity: "notice", meaning: "a request was refused before policy: bad input" },
  // policy
  "request.denied": { severity: "notice", meaning: "policy denied a request" },
  "request.approved": {
    severity: "info",
    meaning: "a request was approved: policy auto-approved it, or its approval quorum was met",
  },
  "request.failed": { severity: "warning", meaning: "an approved request could not be issued" },
  "request.flagged": {
    severity: "warning",
    meaning: "a permitting policy flagged the request (@flag), e.g. a person using a non-human identity interactively",
  },
  "policy.reloaded": { severity: "notice", meaning: "a new policy set was validated and put in force" },
  "policy.reload_failed": {
    severity: "alert",
    meaning: "a changed policy set failed to load or validate; the previous set stays in force",
  },
  "grant.policy_no_longer_permits": {
    severity: "warning",
    meaning: "after a policy change an active grant is no longer permitted; it runs out (policies.onChange: expire)",
  },
  // approval
  "request.pending": { severity: "notice", meaning: "policy requires approval: the request waits for its quorum" },
  "request.approval_recorded": {
    severity: "info",
    meaning: "an approver approved a request, bound to the hash of the request they saw",
  },
  "request.approval_refused": {
    severity: "warning",
    meaning: "an approval was refused: self-approval, owner of the identity, no approve right, or the request changed",
  },
  "request.approval_voided": {
    severity: "warning",
    meaning: "approvals stopped counting: an approver lost the right before issue, or the request changed",
  },
  "request.modified": {
    severity: "notice",
    meaning: "the requester changed a pending request; earlier approvals no longer count",
  },
  "request.cancelled": { severity: "info", meaning: "the requester (or an admin) cancelled a pending request" },
  "request.timed_out": {
    severity: "notice",
    meaning: "a request got no quorum, or its credential was not collected, in time",
  },
  "request.collected": { severity: "info", meaning: "the requester collected the credential of an approved request" },
  "break_glass.used": {
    severity: "alert",
    meaning: "break-glass access was issued at once; a review is due and the admin secret is rotated after",
  },
  "break_glass.denied": { severity: "warning", meaning: "a break-glass request was denied by policy" },
  "break_glass.reviewed": { severity: "notice", meaning: "an approver recorded the review of a break-glass grant" },
  "break_glass.review_overdue": {
    severity: "alert",
    meaning: "no review of a break-glass grant was recorded within approvals.breakGlass.reviewWithin",
  },
  "notification.dead_lettered": {
    severity: "alert",
    meaning: "a webhook notification failed on every attempt and was kept as a dead letter",
  },
  // issue
  "grant.issuing": { severity: "info", meaning: "a grant and its handle were committed before the downstream call" },
  "grant.issued": { severity: "info", meaning: "the credential exists downstream and was handed out" },
  "grant.issue_failed": { severity: "warning", meaning: "the downstream call failed; removal of leftovers starts" },
  // renew
  "grant.renewed": { severity: "info", meaning: "a grant's expiry moved, never past its maximum" },
  "grant.renew_denied": { severity: "notice", meaning: "a renewal was refused (policy, state or maximum)" },
  // revoke
  "grant.revoking": {
    severity: "info",
    meaning: "a grant ended (expiry, completion, revocation, recovery) and removal started",
  },
  "grant.revoked": { severity: "info", meaning: "the downstream removal call succeeded" },
  "grant.revoke_failed": { severity: "alert", meaning: "a removal attempt failed; it is retried with backoff" },
  // verify
  "grant.verified": { severity: "info", meaning: "the downstream was checked and the access is gone" },
  // connectors
  "token.key_created": { severity: "info", meaning: "a token signing key was created" },
  "token.key_retired": {
    severity: "info",
    meaning: "a token signing key stopped signing (still published until its tokens expire)",
  },
  "token.revoked": { severity: "info", meaning: "a token id was put on the deny-list" },
  "x509.ca_created": {
    severity: "notice",
    meaning: "an x509 target made a new issuing CA (first start or rotation); its key is sealed at rest",
  },
  "x509.ca_retired": {
    severity: "notice",
    meaning: "an x509 CA stopped issuing; it stays published until the last certificate it signed expires",
  },
  "x509.revoked": {
    severity: "info",
    meaning: "certificate serials were put on an x509 target's deny-list (CRL) until they expire",
  },
  "target.rotation_run": {
    severity: "notice",
    meaning: "an admin-secret rotation of a target was run (by an operator or the schedule), with its outcome",
  },
  "target.admin_rotation_started": {
    severity: "notice",
    meaning: "a target's new admin secret was sealed in the store, before the target was changed",
  },
  "target.admin_rotated": {
    severity: "notice",
    meaning: "a target took its new admin secret and the old one is retired",
  },
  "target.admin_rotation_recovered": {
    severity: "warning",
    meaning: "a rotation a crash interrupted was finished or abandoned, leaving a working admin secret",
  },
  // reconcile
  "reconcile.account_removed": {
    severity: "alert",
    meaning: "the reconciler removed a broker-made account that no live grant holds (it survived its window)",
  },
  "reconcile.completed": {
    severity: "info",
    meaning: "every target's accounts were compared with the live grants; the totals are in the event",
  },
  // broker
  "broker.started": { severity: "info", meaning: "a broker process started and recovered its state" },
  "broker.writes_resumed": {
    severity: "notice",
    meaning: "the store took a commit again after commits had failed (readiness reported not ready meanwhile)",
  },
  "broker.api_key_created": {
    severity: "notice",
    meaning: "an API key was created (its hash is stored, never the key)",
  },
  // retention
  "history.pruned": {
    severity: "notice",
    meaning:
      "ended grants and their requests older than retention.endedGrants left the grant tables; their audit events stay",
  },
  // audit
  "audit.checkpoint_key_created": {
    severity: "notice",
    meaning: "the audit checkpoint signing key (Ed25519) was made; its private half is sealed in the store",
  },
  "audit.hmac_key_created": {
    severity: "notice",
    meaning: "the key for HMACs of sensitive audit values was made and sealed in the store",
  },
  "audit.checkpoint_written": {
    severity: "info",
    meaning: "a signed checkpoint (head, Merkle root of the range, previous checkpoint) was written to its sinks",
  },
  "audit.checkpoint_refused": {
    severity: "alert",
    meaning: "the chain since the last checkpoint does not verify: no checkpoint was signed over it",
  },
  "audit.sink_failed": {
    severity: "alert",
    meaning: "a checkpoint sink or the audit stream failed; it is retried, and nothing waits on it",
  },
  "audit.streamed": {
    severity: "info",
    meaning: "the audit stream delivered events up to a sequence number and moved its cursor",
  },
  // console
  "console.signed_in": {
    severity: "notice",
    meaning: "a person signed in to the web console; a server-side session was opened (its token is never stored)",
  },
  "console.sign_in_started": {
    severity: "info",
    meaning:
      "a browser was sent to the identity provider to sign in; the sign-in's state, nonce and PKCE verifier are kept server-side for 10 minutes",
  },
  "console.signed_out": { severity: "info", meaning: "a person signed out of the web console; the session was ended" },
  "console.session_active": {
    severity: "info",
    meaning: "a console session was used (recorded at most once a minute: the idle timeout counts from it)",
  },
} as const satisfies Record<string, { severity: Severity; meaning: string }>;

export type AuditCode = keyof typeof AUDIT_CODES;

export function severityOf(code: AuditCode): Severity {
  return AUDIT_CODES[code].severity;
}
