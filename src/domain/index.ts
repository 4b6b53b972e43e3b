// The domain's public surface: types, durations and the transitions table.
export { formatDuration, parseDuration } from "./duration.js";
export type { GrantEvent, RequestEvent } from "./transitions.js";
export {
  canTransitionGrant,
  canTransitionRequest,
  GRANT_TRANSITIONS,
  IllegalTransitionError,
  LIVE_GRANT_STATES,
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
  RequestState,
  Severity,
} from "./types.js";
