// The audit log port: the hash-chained events, read in order, by subject, and at the head. Appends go through change sets.
import type { AuditEvent } from "../domain/index.js";

export interface AuditLog {
  /** Audit events with `seq > afterSeq`, in order. */
  listAudit(afterSeq: number, limit: number): Promise<readonly AuditEvent[]>;
  /** Audit events of one grant or request, in order. */
  auditFor(subject: { grantId?: string; requestId?: string }, limit: number): Promise<readonly AuditEvent[]>;
  auditHead(): Promise<{ seq: number; hash: string }>;
}
