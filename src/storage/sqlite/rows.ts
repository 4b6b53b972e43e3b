// Maps domain objects to SQLite rows and back: scalars as columns, nested objects as JSON text, booleans as 0/1.
import type {
  AccessRequest,
  Actor,
  Approval,
  AuditDraft,
  AuditEvent,
  BreakGlassReview,
  Decision,
  EndReason,
  Grant,
  GrantState,
  IdentityKind,
  IdentityRecord,
  IdentityStatus,
  Intent,
  RemovalEvidence,
  RemovalReceipt,
  RequestFacts,
  RequestState,
  Severity,
} from "../../domain/types.js";
import type { ApiKeyRecord, HeldLease, NotificationRecord, StoredState } from "../store.js";

export interface RequestRow {
  id: string;
  identity_id: string;
  entitlement: string;
  target_id: string;
  duration_seconds: number;
  justification: string | null;
  ticket: string | null;
  intent: string | null;
  break_glass: number;
  state: string;
  decision: string | null;
  grant_id: string | null;
  state_reason: string | null;
  created_at: number;
  updated_at: number;
  version: number;
  revision: number;
  approvals: string;
  due_at: number | null;
  review: string | null;
  review_due_at: number | null;
  facts: string | null;
}

export interface NotificationRow {
  id: string;
  sink: string;
  event: string;
  payload: string;
  state: string;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

export interface GrantRow {
  id: string;
  request_id: string;
  identity_id: string;
  target_id: string;
  entitlement: string;
  connector_type: string;
  handle: string;
  handle_data: string;
  state: string;
  created_at: number;
  issued_at: number | null;
  expires_at: number;
  max_expires_at: number;
  renewals: number;
  end_reason: string | null;
  ended_at: number | null;
  ended_by: string | null;
  attempts: number;
  last_error: string | null;
  revoked_at: number | null;
  verified_at: number | null;
  evidence: string | null;
  due_at: number | null;
  version: number;
  first_used_at: number | null;
  last_used_at: number | null;
  /** The receipt's `unused` as 1/0/null, for the report's SQL. */
  unused: number | null;
  receipt: string | null;
}

export interface AuditRow {
  seq: number;
  id: string;
  time: number;
  code: string;
  severity: string;
  outcome: string;
  actor_type: string;
  actor_id: string;
  request_id: string | null;
  grant_id: string | null;
  identity_id: string | null;
  data: string;
  prev_hash: string;
  hash: string;
}

export interface IdentityRow {
  id: string;
  kind: string;
  owner: string | null;
  groups: string;
  attributes: string;
  admin: number;
  status: string;
  status_reason: string | null;
  source: string;
  first_seen_at: number | null;
  last_seen_at: number | null;
  created_at: number;
  updated_at: number;
  version: number;
}

export interface ApiKeyRow {
  key_id: string;
  identity_id: string;
  hash: string;
  created_at: number;
  revoked_at: number | null;
}

export interface LeaseRow {
  name: string;
  holder: string;
  expires_at: number;
  token: number;
}

export interface StateRow {
  key: string;
  value: string;
  expires_at: number | null;
}

/** JSON text of a value that must be JSON; refuses `undefined`, a function or a symbol rather than storing nothing. */
export function toJson(value: unknown, what: string): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`${what} is not JSON`);
  return text;
}

function jsonOrNull<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export function requestToRow(r: AccessRequest): RequestRow {
  return {
    id: r.id,
    identity_id: r.identityId,
    entitlement: r.entitlement,
    target_id: r.targetId,
    duration_seconds: r.durationSeconds,
    justification: r.justification,
    ticket: r.ticket,
    intent: r.intent === null ? null : toJson(r.intent, "request intent"),
    break_glass: r.breakGlass ? 1 : 0,
    state: r.state,
    decision: r.decision === null ? null : toJson(r.decision, "request decision"),
    grant_id: r.grantId,
    state_reason: r.stateReason,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    version: r.version,
    revision: r.revision,
    approvals: toJson(r.approvals, "request approvals"),
    due_at: r.dueAt,
    review: r.review === null ? null : toJson(r.review, "request review"),
    review_due_at: r.review !== null && r.review.reviewedAt === null ? r.review.dueAt : null,
    facts: r.facts === null ? null : toJson(r.facts, "request facts"),
  };
}

/** Intent as stored: JSON since approvals landed; plain text from before reads as a description. */
function intentOf(text: string | null): Intent | null {
  if (text === null) return null;
  if (text.startsWith("{")) {
    try {
      const parsed = JSON.parse(text) as Intent;
      if (parsed && typeof parsed === "object" && Array.isArray(parsed.actions)) return parsed;
    } catch {
      // Not JSON after all: an old free-text intent.
    }
  }
  return { task: null, actions: [], description: text };
}

export function rowToRequest(row: RequestRow): AccessRequest {
  return {
    id: row.id,
    identityId: row.identity_id,
    entitlement: row.entitlement,
    targetId: row.target_id,
    durationSeconds: row.duration_seconds,
    justification: row.justification,
    ticket: row.ticket,
    intent: intentOf(row.intent),
    breakGlass: row.break_glass !== 0,
    state: row.state as RequestState,
    decision: jsonOrNull<Decision>(row.decision),
    grantId: row.grant_id,
    stateReason: row.state_reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
    revision: row.revision,
    approvals: JSON.parse(row.approvals) as Approval[],
    dueAt: row.due_at,
    review: jsonOrNull<BreakGlassReview>(row.review),
    facts: jsonOrNull<RequestFacts>(row.facts),
  };
}

export function notificationToRow(n: NotificationRecord): NotificationRow {
  return {
    id: n.id,
    sink: n.sink,
    event: n.event,
    payload: toJson(n.payload, "notification payload"),
    state: n.state,
    attempts: n.attempts,
    next_attempt_at: n.nextAttemptAt,
    last_error: n.lastError,
    created_at: n.createdAt,
    delivered_at: n.deliveredAt,
  };
}

export function rowToNotification(row: NotificationRow): NotificationRecord {
  return {
    id: row.id,
    sink: row.sink,
    event: row.event,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    state: row.state as NotificationRecord["state"],
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
  };
}

export function grantToRow(g: Grant): GrantRow {
  return {
    id: g.id,
    request_id: g.requestId,
    identity_id: g.identityId,
    target_id: g.targetId,
    entitlement: g.entitlement,
    connector_type: g.connectorType,
    handle: g.handle,
    handle_data: toJson(g.handleData, "grant handleData"),
    state: g.state,
    created_at: g.createdAt,
    issued_at: g.issuedAt,
    expires_at: g.expiresAt,
    max_expires_at: g.maxExpiresAt,
    renewals: g.renewals,
    end_reason: g.endReason,
    ended_at: g.endedAt,
    ended_by: g.endedBy,
    attempts: g.attempts,
    last_error: g.lastError,
    revoked_at: g.revokedAt,
    verified_at: g.verifiedAt,
    evidence: g.evidence === null ? null : toJson(g.evidence, "grant evidence"),
    due_at: g.dueAt,
    version: g.version,
    first_used_at: g.firstUsedAt,
    last_used_at: g.lastUsedAt,
    unused: g.receipt === null || g.receipt.unused === null ? null : g.receipt.unused ? 1 : 0,
    receipt: g.receipt === null ? null : toJson(g.receipt, "grant receipt"),
  };
}

export function rowToGrant(row: GrantRow): Grant {
  return {
    id: row.id,
    requestId: row.request_id,
    identityId: row.identity_id,
    targetId: row.target_id,
    entitlement: row.entitlement,
    connectorType: row.connector_type,
    handle: row.handle,
    handleData: JSON.parse(row.handle_data) as Grant["handleData"],
    state: row.state as GrantState,
    createdAt: row.created_at,
    issuedAt: row.issued_at,
    expiresAt: row.expires_at,
    maxExpiresAt: row.max_expires_at,
    renewals: row.renewals,
    endReason: row.end_reason as EndReason | null,
    endedAt: row.ended_at,
    endedBy: row.ended_by,
    attempts: row.attempts,
    lastError: row.last_error,
    revokedAt: row.revoked_at,
    verifiedAt: row.verified_at,
    evidence: jsonOrNull<RemovalEvidence>(row.evidence),
    dueAt: row.due_at,
    version: row.version,
    firstUsedAt: row.first_used_at === null ? null : Number(row.first_used_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    receipt: jsonOrNull<RemovalReceipt>(row.receipt),
  };
}

export function eventToRow(e: AuditEvent): AuditRow {
  return {
    seq: e.seq,
    id: e.id,
    time: e.time,
    code: e.code,
    severity: e.severity,
    outcome: e.outcome,
    actor_type: e.actor.type,
    actor_id: e.actor.id,
    request_id: e.requestId,
    grant_id: e.grantId,
    identity_id: e.identityId,
    data: toJson(e.data, "audit data"),
    prev_hash: e.prevHash,
    hash: e.hash,
  };
}

export function rowToEvent(row: AuditRow): AuditEvent {
  return {
    seq: row.seq,
    id: row.id,
    time: row.time,
    code: row.code,
    severity: row.severity as Severity,
    outcome: row.outcome as AuditDraft["outcome"],
    actor: { type: row.actor_type as Actor["type"], id: row.actor_id },
    requestId: row.request_id,
    grantId: row.grant_id,
    identityId: row.identity_id,
    data: JSON.parse(row.data) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export function identityToRow(i: IdentityRecord): IdentityRow {
  return {
    id: i.id,
    kind: i.kind,
    owner: i.owner,
    groups: toJson(i.groups, "identity groups"),
    attributes: toJson(i.attributes, "identity attributes"),
    admin: i.admin ? 1 : 0,
    status: i.status,
    status_reason: i.statusReason,
    source: i.source,
    first_seen_at: i.firstSeenAt,
    last_seen_at: i.lastSeenAt,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    version: i.version,
  };
}

export function rowToIdentity(row: IdentityRow): IdentityRecord {
  return {
    id: row.id,
    kind: row.kind as IdentityKind,
    owner: row.owner,
    groups: JSON.parse(row.groups) as string[],
    attributes: JSON.parse(row.attributes) as Record<string, string>,
    admin: row.admin !== 0,
    status: row.status as IdentityStatus,
    statusReason: row.status_reason,
    source: row.source,
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}

export function rowToApiKey(row: ApiKeyRow): ApiKeyRecord {
  return {
    keyId: row.key_id,
    identityId: row.identity_id,
    hash: row.hash,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

export function rowToState(row: StateRow): StoredState {
  return { key: row.key, value: JSON.parse(row.value) as unknown, expiresAt: row.expires_at };
}

export function rowToLease(row: LeaseRow): HeldLease {
  return { name: row.name, holder: row.holder, expiresAt: row.expires_at, token: row.token };
}
