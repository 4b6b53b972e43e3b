// Access requests as SQL rows: scalars as columns, nested objects as JSON text, booleans as 0/1.
import type {
  AccessRequest,
  Approval,
  BreakGlassReview,
  Decision,
  Intent,
  RequestFacts,
  RequestState,
} from "../../domain/index.js";
import { columns } from "./columns.js";
import { jsonOrNull, toJson } from "./json.js";

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

export const REQUEST_COLUMNS = columns<RequestRow>({
  id: true,
  identity_id: true,
  entitlement: true,
  target_id: true,
  duration_seconds: true,
  justification: true,
  ticket: true,
  intent: true,
  break_glass: true,
  state: true,
  decision: true,
  grant_id: true,
  state_reason: true,
  created_at: true,
  updated_at: true,
  version: true,
  revision: true,
  approvals: true,
  due_at: true,
  review: true,
  review_due_at: true,
  facts: true,
});

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
