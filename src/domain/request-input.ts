// What a caller asks for, checked and echoed: the duration against an entitlement's bounds, a printable echo of
// untrusted input, and the non-secret facts a notification about a request carries. Used by the request stage and
// by approval (a requester's modification, the sweeper's alarms).
import { parseDuration } from "./duration.js";
import type { AccessRequest, Identity } from "./types.js";

/** Why a request is refused before policy is asked. */
export type RejectCode = "unknown_entitlement" | "invalid_duration" | "duration_too_long" | "invalid_request";

/** The duration bounds of an entitlement. */
export interface DurationBounds {
  readonly name: string;
  readonly defaultDurationSeconds: number;
  readonly maxDurationSeconds: number;
}

/** Short, printable echo of caller input for audit records: never more than 128 characters. */
export function echo(value: unknown): string {
  return typeof value === "string" ? value.slice(0, 128) : typeof value;
}

/** Checks and reads the duration asked for; returns seconds or the refusal to throw. */
export function durationAsked(
  entitlement: DurationBounds,
  duration: string | number | undefined,
): { seconds: number } | { code: RejectCode; message: string } {
  const seconds = duration === undefined ? entitlement.defaultDurationSeconds : parseDuration(duration);
  if (seconds === null || seconds <= 0) {
    return {
      code: "invalid_duration",
      message: `duration '${echo(String(duration))}' is not a positive duration (use 90s, 15m, 1h or whole seconds)`,
    };
  }
  if (seconds > entitlement.maxDurationSeconds) {
    return {
      code: "duration_too_long",
      message: `duration ${seconds}s is above the maximum of ${entitlement.maxDurationSeconds}s for '${entitlement.name}'`,
    };
  }
  return { seconds };
}

/** The non-secret facts a notification about a request carries. */
export function notice(
  request: AccessRequest,
  requester: Pick<Identity, "id" | "kind" | "owner"> | null,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    requestId: request.id,
    identity: request.identityId,
    ...(requester ? { identityKind: requester.kind, owner: requester.owner } : {}),
    entitlement: request.entitlement,
    durationSeconds: request.durationSeconds,
    ticket: request.ticket,
    justification: request.justification,
    ...(request.intent ? { intent: request.intent } : {}),
    ...extra,
  };
}
