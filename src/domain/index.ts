// The domain's public surface: types, durations, the transitions table and the audit chain.
export type { IntentInput } from "./approval.js";
export {
  actionsOutside,
  formatApproval,
  intentOf,
  liveApprovals,
  mergeRules,
  ownsIdentity,
  quorumMet,
  requestHash,
  separationOfDuties,
} from "./approval.js";
export type { ChainHead } from "./audit-chain.js";
export { canonicalJson, chainDraft, GENESIS_HASH, hashEvent } from "./audit-chain.js";
export { formatDuration, parseDuration } from "./duration.js";
export type { DurationBounds, RejectCode } from "./request-input.js";
export { durationAsked, echo, notice } from "./request-input.js";
export type { GrantEvent, GrantOpening, RequestDeadlines, RequestEvent, RequestOpening } from "./transitions.js";
export {
  canTransitionGrant,
  canTransitionRequest,
  GRANT_TRANSITIONS,
  grantEnded,
  grantIssued,
  grantRemovalFailed,
  grantRemoved,
  grantRenewed,
  grantRetry,
  grantVerified,
  IllegalTransitionError,
  identityWithStatus,
  openGrant,
  openRequest,
  REQUEST_TRANSITIONS,
  transitionRequest,
} from "./transitions.js";
export type {
  AccessRequest,
  Actor,
  Approval,
  ApprovalRule,
  AuditDraft,
  AuditEvent,
  BreakGlassReview,
  ClientSignal,
  Decision,
  EndReason,
  Grant,
  GrantState,
  Identity,
  IdentityKind,
  IdentityRecord,
  IdentityStatus,
  Intent,
  Millis,
  RemovalEvidence,
  RemovalReceipt,
  RequestFacts,
  RequestState,
  Severity,
  UsageObservation,
  UsageObservationMethod,
} from "./types.js";
export { ADMIN_GROUP } from "./types.js";
