// A grant the agent holds and what it knows of it; how API answers become one; which failures are worth retrying.
import { EphemeraApiError, EphemeraConnectionError, type RequestResult } from "../client/index.js";
import { AuthUnavailableError } from "./auth.js";
import type { SinkCredential } from "./sink/index.js";

export interface Held {
  readonly grantId: string;
  readonly requestId: string;
  expiresAt: number;
  maxExpiresAt: number | null;
  credential: SinkCredential;
}

/** Errors a later attempt may not meet: the broker away, no token yet, a 5xx. */
export function transient(error: unknown): boolean {
  return (
    error instanceof EphemeraConnectionError ||
    error instanceof AuthUnavailableError ||
    (error instanceof EphemeraApiError && (error.status >= 500 || error.status === 401 || error.status === 429))
  );
}

/** A short reason for logs and health: codes and messages the client made, never a credential. */
export function reasonOf(error: unknown): string {
  if (error instanceof EphemeraApiError) return `${error.code}: ${error.detail}`;
  return error instanceof Error ? error.message : String(error);
}

/** Renewal cannot extend this grant any more (within a second of its maximum). */
export function atMaximum(held: Held): boolean {
  return held.maxExpiresAt !== null && held.expiresAt >= held.maxExpiresAt - 1_000;
}

export function sinkCredentialOf(
  grantId: string,
  expiresAt: number,
  credential: { fields: Readonly<Record<string, string>>; env: Readonly<Record<string, string>> },
): SinkCredential {
  return {
    grantId,
    expiresAt: new Date(expiresAt).toISOString(),
    fields: { ...credential.fields },
    env: { ...credential.env },
  };
}

export function heldOf(result: RequestResult): Held {
  const grant = result.grant;
  const expiresAt = Date.parse(grant.expiresAt ?? result.credential.fields.expiresAt ?? "") || Date.now();
  return {
    grantId: grant.id,
    requestId: result.request.id,
    expiresAt,
    maxExpiresAt: grant.maxExpiresAt ? Date.parse(grant.maxExpiresAt) : null,
    credential: sinkCredentialOf(grant.id, expiresAt, result.credential),
  };
}
