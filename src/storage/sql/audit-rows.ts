// Audit events as SQL rows: the actor in two columns, the data as JSON text.
import type { Actor, AuditDraft, AuditEvent, Severity } from "../../domain/index.js";
import { columns } from "./columns.js";
import { toJson } from "./json.js";

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

export const AUDIT_COLUMNS = columns<AuditRow>({
  seq: true,
  id: true,
  time: true,
  code: true,
  severity: true,
  outcome: true,
  actor_type: true,
  actor_id: true,
  request_id: true,
  grant_id: true,
  identity_id: true,
  data: true,
  prev_hash: true,
  hash: true,
});

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
