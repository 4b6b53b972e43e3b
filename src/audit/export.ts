// Audit events as a SIEM reads them: one JSON object per line (the event as stored, hash included), or OCSF 1.1.
// The mapping to OCSF is documented in docs/audit.md ("Export formats").
import type { AuditEvent, Severity } from "../domain/index.js";
import { AUDIT_CODES, type AuditCode } from "./codes.js";

export type ExportFormat = "jsonl" | "ocsf";

export const OCSF_VERSION = "1.1.0";

/** The event exactly as stored and hashed, so a receiver can re-verify the chain from the stream. */
export function jsonlRecord(event: AuditEvent): Record<string, unknown> {
  return {
    seq: event.seq,
    id: event.id,
    time: new Date(event.time).toISOString(),
    timeMs: event.time,
    code: event.code,
    severity: event.severity,
    outcome: event.outcome,
    actor: event.actor,
    requestId: event.requestId,
    grantId: event.grantId,
    identityId: event.identityId,
    data: event.data,
    prevHash: event.prevHash,
    hash: event.hash,
  };
}

interface OcsfClass {
  readonly class_uid: number;
  readonly class_name: string;
  readonly category_uid: number;
  readonly category_name: string;
}

const ACCOUNT_CHANGE: OcsfClass = {
  class_uid: 3001,
  class_name: "Account Change",
  category_uid: 3,
  category_name: "Identity & Access Management",
};
const API_ACTIVITY: OcsfClass = {
  class_uid: 6003,
  class_name: "API Activity",
  category_uid: 6,
  category_name: "Application Activity",
};

/** Account Change activities (OCSF 1.1 class 3001). */
const ACCOUNT_ACTIVITY = { 1: "Create", 3: "Password Change", 6: "Delete", 7: "Attach Policy", 99: "Other" } as const;
/** API Activity activities (OCSF 1.1 class 6003). */
const API_ACTIVITY_NAMES = { 1: "Create", 2: "Read", 3: "Update", 4: "Delete", 99: "Other" } as const;

/**
 * Events that change an account (a downstream credential or an identity) are Account Change; every other event is
 * API Activity, its `api.operation` the event code.
 */
const ACCOUNT_CHANGES: Partial<Record<AuditCode, keyof typeof ACCOUNT_ACTIVITY>> = {
  "grant.issued": 1,
  "grant.revoked": 6,
  "grant.verified": 6,
  "reconcile.account_removed": 6,
  "identity.registered": 1,
  "identity.updated": 99,
  "target.admin_rotated": 3,
  "break_glass.used": 7,
};

function apiActivity(code: string): keyof typeof API_ACTIVITY_NAMES {
  if (code === "request.modified" || code === "grant.renewed" || code === "audit.streamed") return 3;
  if (code === "request.cancelled" || code === "grant.revoking" || code === "token.revoked") return 4;
  if (code.startsWith("request.") || code.endsWith("_created") || code === "grant.issuing") return 1;
  if (code === "audit.checkpoint_written") return 1;
  return 99;
}

const SEVERITY_ID: Record<Severity, { id: number; name: string }> = {
  info: { id: 1, name: "Informational" },
  notice: { id: 2, name: "Low" },
  warning: { id: 3, name: "Medium" },
  alert: { id: 4, name: "High" },
};

const STATUS: Record<AuditEvent["outcome"], { id: number; name: string }> = {
  success: { id: 1, name: "Success" },
  failure: { id: 2, name: "Failure" },
  // Refused by policy or by a rule: the call failed, for the reason the event code names.
  denied: { id: 2, name: "Failure" },
};

/** One event as an OCSF 1.1 event of class Account Change (3001) or API Activity (6003). */
export function ocsfRecord(event: AuditEvent, productVersion: string): Record<string, unknown> {
  const accountActivity = ACCOUNT_CHANGES[event.code as AuditCode];
  const cls = accountActivity === undefined ? API_ACTIVITY : ACCOUNT_CHANGE;
  const activity_id = accountActivity ?? apiActivity(event.code);
  const activity_name =
    accountActivity === undefined
      ? API_ACTIVITY_NAMES[activity_id as keyof typeof API_ACTIVITY_NAMES]
      : ACCOUNT_ACTIVITY[accountActivity];
  const severity = SEVERITY_ID[event.severity] ?? { id: 0, name: "Unknown" };
  const status = STATUS[event.outcome] ?? { id: 0, name: "Unknown" };
  const actor =
    event.actor.type === "identity"
      ? { user: { uid: event.actor.id, name: event.actor.id, type: "Other", type_id: 99 } }
      : event.actor.type === "system"
        ? { app_name: `ephemera/${event.actor.id}` }
        : { user: { uid: "-", name: "anonymous", type: "Unknown", type_id: 0 } };
  const meaning = (AUDIT_CODES as Record<string, { meaning: string } | undefined>)[event.code]?.meaning;
  const record: Record<string, unknown> = {
    ...cls,
    activity_id,
    activity_name,
    type_uid: cls.class_uid * 100 + activity_id,
    type_name: `${cls.class_name}: ${activity_name}`,
    severity_id: severity.id,
    severity: severity.name,
    status_id: status.id,
    status: status.name,
    time: event.time,
    message: meaning ?? event.code,
    actor,
    metadata: {
      version: OCSF_VERSION,
      product: { name: "Ephemera", vendor_name: "Ephemera", version: productVersion },
      uid: event.id,
      log_name: "audit",
      sequence: event.seq,
      event_code: event.code,
      ...(event.requestId ? { correlation_uid: event.requestId } : {}),
    },
    // What OCSF has no field for, kept whole so nothing is lost: the event's own data and its place in the chain.
    unmapped: {
      requestId: event.requestId,
      grantId: event.grantId,
      identityId: event.identityId,
      outcome: event.outcome,
      data: event.data,
      prevHash: event.prevHash,
      hash: event.hash,
    },
  };
  if (cls === ACCOUNT_CHANGE) {
    // The account changed: a downstream credential (named by its grant) or a broker identity.
    record.user = {
      uid: event.grantId ?? event.identityId ?? "-",
      ...(event.identityId ? { name: event.identityId } : {}),
      type: "Other",
      type_id: 99,
    };
  } else {
    record.api = { operation: event.code, service: { name: "ephemera" } };
    // The caller's address is kept only as an HMAC (data.sourceAddressHmac), so the endpoint names no address.
    record.src_endpoint = { svc_name: "ephemera" };
  }
  return record;
}

export function exportRecord(event: AuditEvent, format: ExportFormat, productVersion: string): Record<string, unknown> {
  return format === "ocsf" ? ocsfRecord(event, productVersion) : jsonlRecord(event);
}
