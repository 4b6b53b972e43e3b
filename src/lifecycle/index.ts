// Public surface of the lifecycle: one use-case function per stage, in the order a grant lives through them.

export { ApprovalSweeper } from "./approval/approval-sweeper.js";
export { approveRequest } from "./approval/approve-request.js";
export { cancelRequest } from "./approval/cancel-request.js";
export { collectCredential } from "./approval/collect-credential.js";
export { denyRequest } from "./approval/deny-request.js";
export { modifyRequest } from "./approval/modify-request.js";
export { reviewBreakGlass } from "./approval/review-break-glass.js";
export type { ConsoleSession, CredentialCheck } from "./console/console-sessions.js";
export { ConsoleSessions, OIDC_METHOD, SESSION_TTL_MS } from "./console/console-sessions.js";
export type { OidcCallback, PersonSessionOpened, SignInRefusal } from "./console/oidc-sign-in.js";
export {
  beginOidcSignIn,
  closePersonSession,
  completeOidcSignIn,
  openPersonSession,
  PENDING_SIGN_IN_MS,
} from "./console/oidc-sign-in.js";
export type { ConsoleSignIn } from "./console/sign-in.js";
export { ApiKeySignIn } from "./console/sign-in.js";
export { DormancyMonitor } from "./identities/dormancy-monitor.js";
export type { InventoryEntry } from "./identities/inventory.js";
export { inventoryEntry } from "./identities/inventory.js";
export { offboardIdentity } from "./identities/offboard-identity.js";
export { reactivateIdentity } from "./identities/reactivate-identity.js";
export { listIdentities, readIdentity } from "./identities/read-inventory.js";
export type { IssuedGrant } from "./issue/issue-grant.js";
export { withExpiryHints } from "./monitor/expiry-hints.js";
export type { SchedulerOptions } from "./monitor/expiry-scheduler.js";
export { ExpiryScheduler } from "./monitor/expiry-scheduler.js";
export { introspectToken } from "./monitor/introspect.js";
export { Maintenance } from "./monitor/maintenance.js";
export { LifecycleMetrics } from "./monitor/metrics.js";
export { observeUsage, UsageMonitor } from "./monitor/observe-usage.js";
export { HistoryRetention } from "./monitor/prune-history.js";
export type { DiscoveryReport } from "./monitor/reconcile.js";
export { readDiscovery } from "./monitor/reconcile.js";
export type { PrivilegeReport } from "./monitor/report.js";
export { privilegeReport, readPrivilegeReport } from "./monitor/report.js";
export { rotateTargetSecret } from "./monitor/rotate-target-secret.js";
export { listTargets } from "./monitor/targets.js";
export { UsageRecorder } from "./monitor/usage-recorder.js";
export { factsOf } from "./policy/evaluate-request.js";
export { recheckActiveGrants } from "./policy/recheck-grants.js";
export { grantTimeline, listGrants } from "./queries/list-grants.js";
export { listRequests } from "./queries/list-requests.js";
export { privilegesOf } from "./queries/privileges.js";
export { auditHmacOf, exportAudit, latestCheckpoint, readAudit, verifyAudit } from "./queries/read-audit.js";
export { readRequest, requestTimeline } from "./queries/read-request.js";
export { requestableEntitlements } from "./queries/requestable-entitlements.js";
export type { RenewResult } from "./renew/renew-grant.js";
export { renewGrant } from "./renew/renew-grant.js";
export type { AccessRequestInput, AccessRequestResult, RequestMeta } from "./request/request-access.js";
export { requestAccess } from "./request/request-access.js";
export { endGrantByCaller } from "./revoke/end-grant.js";
export { draft, systemActor } from "./shared/audit-draft.js";
export type { Catalog, LifecycleDeps, LifecycleObserver, LifecycleSettings } from "./shared/deps.js";
export { loadOwnGrant, loadOwnRequest } from "./shared/ownership.js";
export type { DigestedRefusal } from "./shared/refusal-digest.js";
export { RefusalDigest } from "./shared/refusal-digest.js";
export { refusalError, refuse } from "./shared/refuse.js";
export { storeFailure } from "./shared/store-failure.js";
