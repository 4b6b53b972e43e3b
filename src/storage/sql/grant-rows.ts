// Grants as SQL rows: handle data, evidence and the receipt as JSON text; the receipt's `unused` also as a column.
import type { EndReason, Grant, GrantState, RemovalEvidence, RemovalReceipt } from "../../domain/index.js";
import { columns } from "./columns.js";
import { jsonOrNull, toJson } from "./json.js";

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

export const GRANT_COLUMNS = columns<GrantRow>({
  id: true,
  request_id: true,
  identity_id: true,
  target_id: true,
  entitlement: true,
  connector_type: true,
  handle: true,
  handle_data: true,
  state: true,
  created_at: true,
  issued_at: true,
  expires_at: true,
  max_expires_at: true,
  renewals: true,
  end_reason: true,
  ended_at: true,
  ended_by: true,
  attempts: true,
  last_error: true,
  revoked_at: true,
  verified_at: true,
  evidence: true,
  due_at: true,
  version: true,
  first_used_at: true,
  last_used_at: true,
  unused: true,
  receipt: true,
});

/** A versioned grant update leaves usage alone: it is written outside change sets and must not be undone. */
export const GRANT_UPDATE_COLUMNS = GRANT_COLUMNS.filter((c) => c !== "first_used_at" && c !== "last_used_at");

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
