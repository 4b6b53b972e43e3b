// The parts the composition root (src/main.ts) assembles a broker from, one concern per file.
export type { AuditJobs, AuditKeys } from "./audit-services.js";
export { buildAuditJobs, loadAuditKeys } from "./audit-services.js";
export type { Authentication } from "./authentication.js";
export { buildAuthentication } from "./authentication.js";
export { ensureBootstrapKeys, loadMasterKey } from "./bootstrap.js";
export { buildCatalog, buildConnectors, closeConnectors, entitlementsByName } from "./catalog.js";
export type { DepsParts } from "./lifecycle-deps.js";
export { buildLifecycleDeps } from "./lifecycle-deps.js";
export type { OpenedStore, StoreHandle } from "./open-store.js";
export { openStore } from "./open-store.js";
export { packageVersion } from "./package-version.js";
export type { LifecycleJobs, PeriodicJobs } from "./periodic-jobs.js";
export { buildLifecycleJobs, buildScheduler, startJobs, stopJobs } from "./periodic-jobs.js";
export { buildPolicyReloader, loadDecider } from "./policies.js";
export type { Readiness } from "./readiness.js";
export { readinessCheck } from "./readiness.js";
export type { StartContext } from "./start-context.js";
export { startHousekeeping, startTokenAuthority } from "./token-authority.js";
