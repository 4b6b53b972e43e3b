// Reading and verifying the audit log: admins only.
import { type ChainVerification, verifyStoreChain } from "../../audit/verify.js";
import type { AuditEvent, Identity } from "../../domain/types.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { requireAdmin } from "./require-admin.js";

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
): Promise<{ events: readonly AuditEvent[]; next: number | null }> {
  await requireAdmin(deps, caller, "the audit log");
  const { grantId, requestId, limit } = query;
  const subject = grantId || requestId;
  const events = subject
    ? await deps.store.auditFor({ ...(grantId ? { grantId } : {}), ...(requestId ? { requestId } : {}) }, limit)
    : await deps.store.listAudit(query.after, limit);
  return { events, next: events.length === limit && !subject ? (events.at(-1)?.seq ?? null) : null };
}

/** Recomputes every hash and link of the chain and names the first bad event. */
export async function verifyAudit(deps: LifecycleDeps, caller: Identity): Promise<ChainVerification> {
  await requireAdmin(deps, caller, "the audit log");
  return verifyStoreChain(deps.store);
}
