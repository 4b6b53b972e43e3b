// One error type for the whole broker: a stable code, a public message safe to show a caller, and an internal detail for logs.

/** Every error code, its HTTP status and a short title. Documented in docs/errors.md; a test keeps the two in step. */
export const ERROR_CATALOGUE = {
  invalid_request: { status: 400, title: "The request is malformed" },
  invalid_duration: { status: 400, title: "The duration is not valid" },
  duration_too_long: { status: 400, title: "The duration is above the maximum" },
  unknown_entitlement: { status: 400, title: "No such entitlement" },
  invalid_dpop_proof: { status: 400, title: "The DPoP proof is not valid" },
  unauthenticated: { status: 401, title: "Authentication is missing or wrong" },
  token_replayed: { status: 401, title: "The workload token was already used" },
  forbidden: { status: 403, title: "The caller may not do this" },
  not_owner: { status: 403, title: "The grant or request belongs to another identity" },
  identity_inactive: { status: 403, title: "The identity is dormant or offboarded" },
  denied: { status: 403, title: "Policy denied the request" },
  approval_refused: { status: 403, title: "This approver may not approve or deny this request" },
  intent_exceeded: { status: 403, title: "The ask goes beyond the granted intent; make a new request" },
  not_found: { status: 404, title: "No such resource" },
  invalid_state: { status: 409, title: "Not possible in the current state" },
  max_duration_reached: { status: 409, title: "The grant is already at its maximum duration" },
  request_changed: { status: 409, title: "The request changed since the approver saw it" },
  approval_withdrawn: { status: 409, title: "An approval no longer holds; the request waits for approvers again" },
  request_timeout: { status: 408, title: "The request did not arrive in time" },
  payload_too_large: { status: 413, title: "The request body is too large" },
  idempotency_key_reused: { status: 422, title: "The Idempotency-Key names a different request" },
  unsupported_media_type: { status: 415, title: "The content type is not supported" },
  rate_limited: { status: 429, title: "Too many attempts from this source; retry after the time given" },
  headers_too_large: { status: 431, title: "The request headers are too large" },
  internal: { status: 500, title: "Internal error" },
  downstream_unavailable: { status: 502, title: "The target system could not complete the operation" },
  audit_unavailable: { status: 503, title: "The audit log cannot be written, so nothing is done" },
  unavailable: { status: 503, title: "The broker is not ready" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class EphemeraError extends Error {
  readonly code: ErrorCode;
  /** Safe to show the caller: names what was wrong, never a secret. */
  readonly publicMessage: string;
  /** For the operator's log only; must not carry secrets either. */
  readonly detail: string | undefined;
  /** Extra fields for the problem document (e.g. the offending field). */
  readonly extensions: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    publicMessage: string,
    options: { detail?: string; cause?: unknown; extensions?: Record<string, unknown> } = {},
  ) {
    super(publicMessage, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "EphemeraError";
    this.code = code;
    this.publicMessage = publicMessage;
    this.detail = options.detail;
    this.extensions = options.extensions ?? {};
  }

  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }
}

export function isEphemeraError(error: unknown): error is EphemeraError {
  return error instanceof EphemeraError;
}

/** A one-line description of any thrown value for logs and audit, with anything that looks like a secret masked. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return redactSecrets(text).slice(0, 500);
}

const SECRET_PATTERNS: readonly [RegExp, string][] = [
  [/ephk_[0-9a-z]+_[A-Za-z0-9_-]+/g, "[REDACTED]"], // API keys
  [/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, "[REDACTED]"], // JWTs
  [/\b(password|passwd|pwd|secret|token)=([^\s&;]+)/gi, "$1=[REDACTED]"],
  [/:\/\/([^:/@\s]+):([^@/\s]+)@/g, "://$1:[REDACTED]@"], // credentials in URLs
];

export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
