// Reading and verifying the audit log (`read_audit`), its last signed checkpoint and the HMAC that finds a value in it
// (`admin`): whom policy allows.
import type { ExportFormat, SignedCheckpoint } from "../../audit/index.js";
import { type ChainVerification, exportRecord, verifyStoreChain } from "../../audit/index.js";
import type { AuditEvent, Identity, RequestFacts } from "../../domain/index.js";
import { EphemeraError } from "../../support/index.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { BROKER, requirePermission } from "../shared/require-permission.js";

export interface AuditQuery {
  /** Events with a sequence number above this one. */
  readonly after: number;
  readonly limit: number;
  /** Only the events of this grant or request (not paged). */
  readonly grantId?: string;
  readonly requestId?: string;
}

/** Audit events in sequence order; `next` is the sequence number to page after, or null on the last page. */
export async function readAudit(
  deps: LifecycleDeps,
  caller: Identity,
  query: AuditQuery,
  facts: RequestFacts | null = null,
): Promise<{ events: readonly AuditEvent[]; next: number | null }> {
  await requirePermission(deps, caller, { action: "read_audit", resource: BROKER, facts }, "the audit log");
  const { grantId, requestId, limit } = query;
  const subject = grantId || requestId;
  const events = subject
    ? await deps.store.auditFor({ ...(grantId ? { grantId } : {}), ...(requestId ? { requestId } : {}) }, limit)
    : await deps.store.listAudit(query.after, limit);
  return { events, next: events.length === limit && !subject ? (events.at(-1)?.seq ?? null) : null };
}

/**
 * Events with `seq > after` as a SIEM reads them, for whom policy allows `export_audit` (which a pipeline shipping
 * the log may hold without `read_audit`); `next` as for readAudit.
 */
export async function exportAudit(
  deps: LifecycleDeps,
  caller: Identity,
  query: { readonly after: number; readonly limit: number; readonly format: ExportFormat; readonly version: string },
  facts: RequestFacts | null = null,
): Promise<{ records: Record<string, unknown>[]; next: number | null }> {
  await requirePermission(deps, caller, { action: "export_audit", resource: BROKER, facts }, "the audit export");
  const events = await deps.store.listAudit(query.after, query.limit);
  return {
    records: events.map((e) => exportRecord(e, query.format, query.version)),
    next: events.length === query.limit ? (events.at(-1)?.seq ?? null) : null,
  };
}

/** Recomputes every hash and link of the chain and names the first bad event. */
export async function verifyAudit(
  deps: LifecycleDeps,
  caller: Identity,
  facts: RequestFacts | null = null,
): Promise<ChainVerification> {
  await requirePermission(deps, caller, { action: "read_audit", resource: BROKER, facts }, "the audit log");
  return verifyStoreChain(deps.store);
}

/** The last signed checkpoint; 404 before the first one (`last` is absent when checkpoints are off). */
export async function latestCheckpoint(
  deps: LifecycleDeps,
  caller: Identity,
  last: (() => Promise<SignedCheckpoint | null>) | undefined,
  facts: RequestFacts | null = null,
): Promise<SignedCheckpoint> {
  await requirePermission(deps, caller, { action: "admin", resource: BROKER, facts }, "the audit log");
  const checkpoint = last ? await last() : null;
  if (!checkpoint) throw new EphemeraError("not_found", "no audit checkpoint has been written yet");
  return checkpoint;
}

/** The audit HMAC of a value (a token id, a source address), to find the events that name it. */
export async function auditHmacOf(
  deps: LifecycleDeps,
  caller: Identity,
  value: string,
  facts: RequestFacts | null = null,
): Promise<string> {
  await requirePermission(deps, caller, { action: "admin", resource: BROKER, facts }, "the audit log");
  return deps.auditHmac.tag(value);
}
