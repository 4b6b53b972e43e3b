// What the tools answer a model: structured content plus one or two plain sentences. References only (grant id, sink
// path, expiry, what the credential grants), never the credential, unless `reveal` is on for the entitlement.
import type { Grant, RenewResult, RequestResult, RequestView } from "../client/index.js";
import type { SinkSpec } from "./config.js";

/** A tool's answer: `data` becomes structured content, `text` the short text beside it. */
export interface ToolAnswer {
  readonly text: string;
  readonly data: Record<string, unknown>;
}

/** Where a credential was written and what it holds, by name. */
export interface Delivered {
  readonly sink: SinkSpec;
  /** Environment variable names in the sink (values never shown). */
  readonly variables: readonly string[];
  /** The credential's fields: shown only with reveal. */
  readonly fields: Readonly<Record<string, string>>;
}

function secondsLeft(expiresAt: string | null): number | null {
  if (expiresAt === null) return null;
  return Math.max(0, Math.round((Date.parse(expiresAt) - Date.now()) / 1000));
}

export function presentActive(issued: RequestResult, delivered: Delivered, reveal: boolean): ToolAnswer {
  const grant = issued.grant;
  const data: Record<string, unknown> = {
    status: "active",
    requestId: issued.request.id,
    grantId: grant.id,
    entitlement: grant.entitlement,
    expiresAt: grant.expiresAt,
    secondsLeft: secondsLeft(grant.expiresAt),
    maxExpiresAt: grant.maxExpiresAt,
    grants: {
      target: grant.target,
      entitlement: grant.entitlement,
      account: grant.handle,
      intent: issued.request.intent,
    },
    sink: { path: delivered.sink.path, format: delivered.sink.format, variables: [...delivered.variables] },
    revealed: reveal,
    ...(reveal ? { credential: { ...delivered.fields } } : {}),
  };
  const where =
    delivered.sink.format === "env"
      ? `${delivered.sink.path} (dotenv: ${delivered.variables.join(", ")})`
      : `${delivered.sink.path} (${delivered.sink.format})`;
  return {
    data,
    text:
      `Access to ${grant.entitlement} is active until ${grant.expiresAt ?? "?"} (grant ${grant.id}). ` +
      `The credential is in ${where}; point your tool at that file${reveal ? " (it is also in this result)" : ", it is not shown here"}. ` +
      "Call complete_access with the grantId as soon as the task is done.",
  };
}

export function presentPending(view: RequestView, waitedMs: number | null): ToolAnswer {
  const request = view.request;
  const rules = request.decision?.approvers ?? [];
  const given = request.approvals.filter((a) => a.current).length;
  const final = request.state !== "pending" && request.state !== "approved";
  const who = rules.map((r) => `${r.count} from ${r.group}`).join(" and ") || "an approver";
  const data: Record<string, unknown> = {
    status: request.state,
    requestId: request.id,
    entitlement: request.entitlement,
    reason: request.stateReason,
    approval: { needed: rules, given },
    pendingUntil: request.dueAt,
    ...(final
      ? {}
      : {
          nextStep: `A person (${who}) must approve request ${request.id}: 'ephemera approvals approve ${request.id}' or the console.`,
        }),
  };
  const text = final
    ? `Request ${request.id} for ${request.entitlement} is ${request.state}${request.stateReason ? `: ${request.stateReason}` : ""}.`
    : `Request ${request.id} for ${request.entitlement} needs approval (${who}; ${given} given so far)` +
      `${waitedMs === null ? "" : `, not given within ${Math.round(waitedMs / 1000)}s`}. ` +
      "Tell the user a person must approve it, then call access_status with the requestId; the credential is written to its sink once approved.";
  return { data, text };
}

export function presentGrantStatus(
  grant: Grant,
  sink: { sink: SinkSpec } | null,
  request: RequestView["request"] | null,
): ToolAnswer {
  const left = secondsLeft(grant.expiresAt);
  const active = grant.state === "active";
  const data: Record<string, unknown> = {
    status: grant.state,
    grantId: grant.id,
    requestId: grant.requestId,
    entitlement: grant.entitlement,
    expiresAt: grant.expiresAt,
    secondsLeft: active ? left : 0,
    maxExpiresAt: grant.maxExpiresAt,
    renewals: grant.renewals,
    removed: grant.removed,
    endReason: grant.endReason,
    heldBySession: sink !== null,
    ...(sink ? { sink: { path: sink.sink.path, format: sink.sink.format } } : {}),
    ...(request
      ? {
          approval: {
            needed: request.decision?.approvers ?? [],
            given: request.approvals.filter((a) => a.current).length,
          },
        }
      : {}),
  };
  const text = active
    ? `Grant ${grant.id} (${grant.entitlement}) is active, ${left ?? "?"}s left${sink ? `; credential in ${sink.sink.path}` : ""}.`
    : `Grant ${grant.id} (${grant.entitlement}) is ${grant.state}${grant.removed ? ", removal verified" : ""}.`;
  return { data, text };
}

export function presentReceipt(grant: Grant): ToolAnswer {
  const receipt = grant.receipt;
  const checks = receipt?.verification?.checks ?? grant.evidence?.checks ?? [];
  const data: Record<string, unknown> = {
    status: grant.state,
    grantId: grant.id,
    entitlement: grant.entitlement,
    removed: grant.removed,
    receipt: {
      removed: [...(receipt?.removed ?? [])],
      sessionsEnded: receipt?.sessionsEnded?.count ?? null,
      checks: checks.map((c) => ({ check: c.check, passed: c.passed, observed: c.observed })),
      verifiedAt: receipt?.verifiedAt ?? grant.verifiedAt,
      unused: receipt?.unused ?? null,
    },
  };
  const text = grant.removed
    ? `Grant ${grant.id} ended; removal verified (${checks.filter((c) => c.passed).length}/${checks.length} checks passed). The sink file was deleted.`
    : `Grant ${grant.id} ended but removal is not verified yet (${grant.state}); the broker keeps retrying.`;
  return { data, text };
}

/** A renewed grant; `sinkPath` was rewritten when the renewal brought a fresh credential (token targets). */
export function presentRenewed(renewed: RenewResult, sinkPath: string): ToolAnswer {
  const grant = renewed.grant;
  return {
    data: {
      status: "active",
      grantId: grant.id,
      expiresAt: grant.expiresAt,
      secondsLeft: secondsLeft(grant.expiresAt),
      maxExpiresAt: grant.maxExpiresAt,
      capped: renewed.capped,
      renewals: grant.renewals,
      sink: { path: sinkPath, rewritten: renewed.credential !== null },
    },
    text:
      `Grant ${grant.id} renewed until ${grant.expiresAt ?? "?"}` +
      `${renewed.capped ? " (shortened to its maximum)" : ""}${renewed.credential ? `; the new credential is in ${sinkPath}` : ""}.`,
  };
}
