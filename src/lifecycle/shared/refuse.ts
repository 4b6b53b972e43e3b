// Refusing a caller: the refusal is audited first (DESIGN §6.9), then the error goes back; nothing else changes.
import type { AuditCode } from "../../audit/index.js";
import type { Identity } from "../../domain/index.js";
import { EphemeraError, type ErrorCode } from "../../support/index.js";
import { actorOf, draft } from "./audit-draft.js";
import { commit } from "./commit.js";
import type { LifecycleDeps } from "./deps.js";

export interface Refusal {
  readonly auditCode: AuditCode;
  readonly errorCode: ErrorCode;
  readonly message: string;
  readonly requestId?: string | null;
  readonly grantId?: string | null;
  readonly data?: Record<string, unknown>;
  readonly extensions?: Record<string, unknown>;
}

/** Writes the refusal's audit event and returns the error to throw. */
export async function refuse(deps: LifecycleDeps, caller: Identity | null, refusal: Refusal): Promise<EphemeraError> {
  const event = draft(
    refusal.auditCode,
    deps.clock.now(),
    actorOf(caller),
    { identityId: caller?.id ?? null },
    { error: refusal.errorCode, reason: refusal.message, ...refusal.data },
    "denied",
  );
  await commit(deps, {
    writes: [],
    audit: [{ ...event, requestId: refusal.requestId ?? null, grantId: refusal.grantId ?? null }],
  });
  return refusalError(refusal);
}

/** The error a refusal answers with (its audit event written, or counted in a summary, by the caller). */
export function refusalError(refusal: Refusal): EphemeraError {
  return new EphemeraError(
    refusal.errorCode,
    refusal.message,
    refusal.extensions === undefined ? {} : { extensions: refusal.extensions },
  );
}
