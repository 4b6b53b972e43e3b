// Public surface of the TypeScript client (`ephemera/client`): the API client, withAccess and their errors.
export type { ChildEnvironmentInput } from "./child-env.js";
export { CLEAN_ENV_KEEP, childEnvironment, isBrokerSecret, PLATFORM_TOKEN_VARIABLES } from "./child-env.js";
export type { ClientOptions, RequestOptions } from "./client.js";
export { checkIdempotencyKey, EphemeraClient, fromEnv, isPending, isReplay } from "./client.js";
export type { DpopProver } from "./dpop.js";
export { dpopProver, generateDpopKey, loadDpopKeyFile } from "./dpop.js";
export { parseDurationMs } from "./duration.js";
export { EphemeraApiError, EphemeraConfigError, EphemeraConnectionError } from "./errors.js";
export { isLoopbackHost } from "./loopback.js";
export { sleep } from "./sleep.js";
export type { FetchLike } from "./transport.js";
export type {
  AccessRequest,
  ApprovalView,
  AuditEvent,
  AuditExportPage,
  AuditPage,
  AuditVerification,
  Decision,
  DiscoveryReport,
  Duration,
  EntitlementView,
  Grant,
  GrantFilter,
  GrantPage,
  GrantState,
  IdentityFilter,
  IdentityPage,
  IdentityStatus,
  IdentityView,
  Intent,
  Introspection,
  OffboardResult,
  PendingResult,
  PrivilegeReport,
  Problem,
  RemovalEvidence,
  RemovalReceipt,
  RenewResult,
  ReplayedResult,
  RequestInput,
  RequestPage,
  RequestResult,
  RequestView,
  ReviewView,
  RotationResult,
  TargetDiscovery,
  TargetSummary,
  UsageObservation,
  WireCredential,
} from "./types.js";
export type { WaitOptions } from "./wait.js";
export { requestAndWait, waitAndCollect } from "./wait.js";
export type { ChildEnvOptions, Credential, WithAccessOptions } from "./with-access.js";
export { completeGrant, withAccess } from "./with-access.js";
