// Public surface of the lifecycle: one use-case function per stage, in the order a grant lives through them.

export type { IssuedGrant } from "./issue/issue-grant.js";
export type { SchedulerOptions } from "./monitor/expiry-scheduler.js";
export { ExpiryScheduler } from "./monitor/expiry-scheduler.js";
export { introspectToken } from "./monitor/introspect.js";
export { LifecycleMetrics } from "./monitor/metrics.js";
export { observeUsage, UsageMonitor } from "./monitor/observe-usage.js";
export type { PrivilegeReport } from "./monitor/report.js";
export { privilegeReport } from "./monitor/report.js";
export { UsageRecorder } from "./monitor/usage-recorder.js";
export type { RenewResult } from "./renew/renew-grant.js";
export { renewGrant } from "./renew/renew-grant.js";
export type { AccessRequestInput, AccessRequestResult, RequestMeta } from "./request/request-access.js";
export { requestAccess } from "./request/request-access.js";
export { endGrantByCaller } from "./revoke/end-grant.js";
export type { Catalog, LifecycleDeps, LifecycleObserver, LifecycleSettings } from "./shared/deps.js";
export { loadOwnGrant, loadOwnRequest } from "./shared/ownership.js";
export { refuse } from "./shared/refuse.js";
