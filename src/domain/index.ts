// The domain's public surface: types, durations, the transitions table and the audit chain.
export type { IntentInput } from "./approval.js";
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
  grantIssued,
  IllegalTransitionError,
  openGrant,
  openRequest,
  REQUEST_TRANSITIONS,
} from "./transitions.js";
export type {
  AccessRequest,
  Actor,
  AuditDraft,
  AuditEvent,
  Decision,
  EndReason,
  Grant,
  GrantState,
  Identity,
  IdentityKind,
  IdentityStatus,
  Millis,
  RemovalEvidence,
  RemovalReceipt,
  RequestState,
  Severity,
} from "./types.js";
