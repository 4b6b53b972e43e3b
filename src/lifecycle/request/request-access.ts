// Stage 1, request: validate what the caller asks for, ask policy, and hand an allowed request to the issue stage.
import type { IssuedCredential } from "../../connectors/connector.js";
import { parseDuration } from "../../domain/duration.js";
import { openGrant } from "../../domain/transitions.js";
import type { AccessRequest, Grant, Identity } from "../../domain/types.js";
import { ConflictError } from "../../storage/store.js";
import { EphemeraError } from "../../support/errors.js";
import { newId } from "../../support/ids.js";
import { actorOf, draft } from "../audit-draft.js";
import { commit } from "../commit.js";
import type { LifecycleDeps, RequestMeta } from "../deps.js";
import { issueGrant } from "../issue/issue-grant.js";
import { issueInProcess } from "../issue/issue-in-process.js";
import { evaluateRequest } from "../policy/evaluate-request.js";
import { refuse } from "../refuse.js";
import { type Idempotency, idempotencyOf, recordedRequest, recordRequest } from "./idempotency.js";
import { commitClaimed, singleUseClaims } from "./single-use.js";

export interface AccessRequestInput {
  readonly entitlement: string;
  /** "15m", "1h", or seconds; the entitlement's default when absent. */
  readonly duration?: string | number | undefined;
  readonly justification?: string | undefined;
  readonly ticket?: string | undefined;
  readonly intent?: string | undefined;
  readonly breakGlass?: boolean | undefined;
}

export type { RequestMeta } from "../deps.js";

export type AccessRequestResult =
  | {
      readonly outcome: "issued";
      readonly request: AccessRequest;
      readonly grant: Grant;
      readonly credential: IssuedCredential;
    }
  | { readonly outcome: "denied"; readonly request: AccessRequest }
  /**
   * The Idempotency-Key named an earlier request: its request and grant as they are now. The credential is not
   * stored anywhere, so it is not shown again.
   */
  | { readonly outcome: "replayed"; readonly request: AccessRequest; readonly grant: Grant | null };

/** Short, printable echo of caller input for audit records: never more than 128 characters. */
function echo(value: unknown): string {
  return typeof value === "string" ? value.slice(0, 128) : typeof value;
}

export async function requestAccess(
  deps: LifecycleDeps,
  caller: Identity,
  input: AccessRequestInput,
  meta: RequestMeta,
): Promise<AccessRequestResult> {
  if (meta.idempotencyKey === undefined) return requestOnce(deps, caller, input, meta, null);
  const idem = idempotencyOf(caller, meta.idempotencyKey, {
    entitlement: input.entitlement,
    duration: input.duration ?? null,
    justification: input.justification ?? null,
    ticket: input.ticket ?? null,
    intent: input.intent ?? null,
    breakGlass: input.breakGlass ?? false,
  });
  const earlier = await recordedRequest(deps, idem);
  if (earlier !== null) return replay(deps, earlier);
  try {
    return await requestOnce(deps, caller, input, meta, idem);
  } catch (error) {
    // Another attempt with the same key (on this replica or another) committed first: answer what it made. When the
    // caller's workload token came with it, that attempt took the token too, which reads as a replay: the same answer.
    const sameAttempt =
      error instanceof ConflictError || (error instanceof EphemeraError && error.code === "token_replayed");
    if (!sameAttempt) throw error;
    const winner = await recordedRequest(deps, idem);
    if (winner === null) throw error;
    return replay(deps, winner);
  }
}

async function replay(deps: LifecycleDeps, requestId: string): Promise<AccessRequestResult> {
  const request = await deps.store.getRequest(requestId);
  if (!request) throw new EphemeraError("not_found", `request '${requestId}' named by the Idempotency-Key is gone`);
  if (request.state === "denied") return { outcome: "denied", request };
  const grant = request.grantId === null ? null : await deps.store.getGrant(request.grantId);
  return { outcome: "replayed", request, grant };
}

async function requestOnce(
  deps: LifecycleDeps,
  caller: Identity,
  input: AccessRequestInput,
  meta: RequestMeta,
  idem: Idempotency | null,
): Promise<AccessRequestResult> {
  const reject = async (
    errorCode: "unknown_entitlement" | "invalid_duration" | "duration_too_long" | "invalid_request",
    message: string,
    field: string,
  ) => {
    deps.observer.decision("rejected");
    return refuse(deps, caller, {
      auditCode: "request.rejected",
      errorCode,
      message,
      data: { entitlement: echo(input.entitlement), field },
      extensions: { field },
    });
  };

  const entitlement = deps.catalog.entitlement(input.entitlement);
  const connector = entitlement ? deps.catalog.connector(entitlement.targetId) : undefined;
  if (!entitlement || !connector) {
    throw await reject("unknown_entitlement", `no entitlement named '${echo(input.entitlement)}'`, "entitlement");
  }
  if (meta.proof && !connector.bindsCredentials) {
    throw await reject(
      "invalid_request",
      `target '${entitlement.targetId}' cannot bind its credentials to a key; send the request without a DPoP proof`,
      "dpop",
    );
  }
  if (input.breakGlass) {
    throw await reject("invalid_request", "break-glass is not enabled on this broker", "breakGlass");
  }

  const durationSeconds =
    input.duration === undefined ? entitlement.defaultDurationSeconds : parseDuration(input.duration);
  if (durationSeconds === null || durationSeconds <= 0) {
    throw await reject(
      "invalid_duration",
      `duration '${echo(String(input.duration))}' is not a positive duration (use 90s, 15m, 1h or whole seconds)`,
      "duration",
    );
  }
  if (durationSeconds > entitlement.maxDurationSeconds) {
    throw await reject(
      "duration_too_long",
      `duration ${durationSeconds}s is above the maximum of ${entitlement.maxDurationSeconds}s for '${entitlement.name}'`,
      "duration",
    );
  }

  const now = deps.clock.now();
  const decision = evaluateRequest(deps, caller, entitlement, durationSeconds, input, meta);
  const base: AccessRequest = {
    id: newId("req"),
    identityId: caller.id,
    entitlement: entitlement.name,
    targetId: entitlement.targetId,
    durationSeconds,
    justification: input.justification ?? null,
    ticket: input.ticket ?? null,
    intent: input.intent ?? null,
    breakGlass: false,
    state: decision.outcome === "allow" ? "approved" : "denied",
    decision,
    grantId: null,
    stateReason: decision.outcome === "allow" ? null : decision.reason,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
  const decisionData = {
    entitlement: entitlement.name,
    durationSeconds,
    decision: decision.outcome,
    reason: decision.reason,
    policies: decision.determiningPolicies,
    policyVersion: deps.decider.version,
    ticket: base.ticket,
    sourceAddress: meta.sourceAddress,
    // How the caller proved itself: never the credential, only its kind and non-secret id (key id, jti or hash).
    ...(meta.authentication
      ? {
          authentication: {
            method: meta.authentication.method,
            credentialId: meta.authentication.credentialId,
            ...(typeof meta.authentication.claims.rule === "string"
              ? { authenticator: meta.authentication.claims.authenticator, rule: meta.authentication.claims.rule }
              : {}),
          },
        }
      : {}),
    ...(meta.proof ? { boundTo: meta.proof.binding.jkt } : {}),
  };

  // A single-use credential is claimed with the decision it obtains, denials included: a replay gets no decision.
  const claims = singleUseClaims(meta, base.id, now);
  if (decision.outcome === "deny") {
    await commitClaimed(deps, caller, meta, claims, () =>
      commit(deps, {
        writes: [
          { kind: "insertRequest", request: base },
          ...claims,
          ...(idem ? [recordRequest(idem, base.id, now)] : []),
        ],
        audit: [draft("request.denied", now, actorOf(caller), { request: base }, decisionData, "denied")],
      }),
    );
    deps.observer.decision("deny");
    return { outcome: "denied", request: base };
  }
  if (decision.maxDurationSeconds !== null && durationSeconds > decision.maxDurationSeconds) {
    throw await reject(
      "duration_too_long",
      `duration ${durationSeconds}s is above the ${decision.maxDurationSeconds}s policy allows for '${entitlement.name}'`,
      "duration",
    );
  }
  deps.observer.decision("allow");
  const maxSeconds = decision.maxDurationSeconds ?? entitlement.maxDurationSeconds;
  const grantId = newId("grt");
  const request: AccessRequest = { ...base, grantId };
  const remember = idem ? [recordRequest(idem, request.id, now)] : [];
  const { handle, handleData } = connector.prepare({ grantId, identity: caller, entitlement });
  const grant = openGrant({
    id: grantId,
    requestId: request.id,
    identityId: caller.id,
    targetId: entitlement.targetId,
    entitlement: entitlement.name,
    connectorType: connector.type,
    handle,
    handleData,
    createdAt: now,
    expiresAt: now + durationSeconds * 1000,
    maxExpiresAt: now + maxSeconds * 1000,
    // If this worker dies before the credential is handed out, the grant is removed once this claim lapses.
    dueAt: now + deps.settings.removalClaimMs,
  });
  const opening = [
    draft("request.approved", now, actorOf(caller), { request }, { ...decisionData, approval: decision.approval }),
    draft(
      "grant.issuing",
      now,
      actorOf(caller),
      { grant },
      {
        handle,
        expiresAt: grant.expiresAt,
        maxExpiresAt: grant.maxExpiresAt,
      },
    ),
  ];
  const binding = meta.proof?.binding ?? null;
  // The single-use claims and the Idempotency-Key record commit with the request, whatever its outcome.
  const alongside = [...claims, ...remember];
  if (connector.issuesInProcess) {
    let issued: Awaited<ReturnType<typeof issueInProcess>> | undefined;
    await commitClaimed(deps, caller, meta, claims, async () => {
      issued = await issueInProcess(deps, caller, request, grant, entitlement, connector, opening, alongside, binding);
    });
    if (!issued) throw new Error("issueInProcess returned nothing");
    return { outcome: "issued", ...issued };
  }
  // The grant row, its handle and its expiry are durable before anything exists downstream (DESIGN §2); the
  // single-use claim commits with them, so a replayed token never reaches the target.
  await commitClaimed(deps, caller, meta, claims, () =>
    commit(deps, {
      writes: [{ kind: "insertRequest", request }, { kind: "insertGrant", grant }, ...alongside],
      audit: opening,
    }),
  );
  const issued = await issueGrant(deps, caller, request, grant, entitlement, connector, binding);
  return { outcome: "issued", ...issued };
}
