// Stage 1, request: validate what the caller asks for, ask policy, and then issue at once (auto-approval, break-glass)
// or leave the request pending for its approvers.
import type { IssuedCredential } from "../../connectors/connector.js";
import { type IntentInput, intentOf } from "../../domain/approval.js";
import { durationAsked, echo, notice, type RejectCode } from "../../domain/request-input.js";
import type { AccessRequest, Decision, Grant, Identity, Intent } from "../../domain/types.js";
import { ConflictError, type Write } from "../../storage/store.js";
import { EphemeraError } from "../../support/errors.js";
import { newId } from "../../support/ids.js";
import { approvalSettings } from "../approval/settings.js";
import { rotateAfter } from "../approval/sweep-requests.js";
import { issueApproved } from "../issue/issue-approved.js";
import { decisionData, evaluateRequest, factsOf } from "../policy/evaluate-request.js";
import { actorOf, draft } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps, RequestMeta } from "../shared/deps.js";
import { refuse } from "../shared/refuse.js";
import { commitClaimed, singleUseClaims } from "../shared/single-use.js";
import { type Idempotency, idempotencyOf, recordedRequest, recordRequest } from "./idempotency.js";

export interface AccessRequestInput {
  readonly entitlement: string;
  /** "15m", "1h", or seconds; the entitlement's default when absent. */
  readonly duration?: string | number | undefined;
  readonly justification?: string | undefined;
  readonly ticket?: string | undefined;
  readonly intent?: IntentInput | undefined;
  readonly breakGlass?: boolean | undefined;
}

export type { RequestMeta } from "../shared/deps.js";

export type AccessRequestResult =
  | {
      readonly outcome: "issued";
      readonly request: AccessRequest;
      readonly grant: Grant;
      readonly credential: IssuedCredential;
    }
  | { readonly outcome: "pending"; readonly request: AccessRequest }
  | { readonly outcome: "denied"; readonly request: AccessRequest }
  /**
   * The Idempotency-Key named an earlier request: its request and grant as they are now. The credential is not
   * stored anywhere, so it is not shown again.
   */
  | { readonly outcome: "replayed"; readonly request: AccessRequest; readonly grant: Grant | null };

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
  if (request.state === "pending") return { outcome: "pending", request };
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
  const reject = async (errorCode: RejectCode, message: string, field: string) => {
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
  const breakGlass = input.breakGlass === true;
  if (breakGlass && !input.justification?.trim()) {
    throw await reject("invalid_request", "break-glass needs a justification: say why", "justification");
  }
  const asked = durationAsked(entitlement, input.duration);
  if ("code" in asked) throw await reject(asked.code, asked.message, "duration");
  const durationSeconds = asked.seconds;
  const intent: Intent | null = intentOf(input.intent);

  const now = deps.clock.now();
  const facts = factsOf(meta);
  const askedFor = { justification: input.justification, ticket: input.ticket, intent, breakGlass };
  const decision = evaluateRequest(
    deps,
    caller,
    entitlement,
    durationSeconds,
    askedFor,
    facts,
    breakGlass ? "break_glass" : "request",
  );
  const settings = approvalSettings(deps);
  const base: AccessRequest = {
    id: newId("req"),
    identityId: caller.id,
    entitlement: entitlement.name,
    targetId: entitlement.targetId,
    durationSeconds,
    justification: input.justification ?? null,
    ticket: input.ticket ?? null,
    intent,
    breakGlass,
    state: "denied",
    decision,
    grantId: null,
    stateReason: decision.outcome === "allow" ? null : decision.reason,
    createdAt: now,
    updatedAt: now,
    version: 1,
    revision: 0,
    approvals: [],
    dueAt: null,
    review: null,
    facts,
  };
  const data = {
    entitlement: entitlement.name,
    durationSeconds,
    ...decisionData(decision, deps.decider.version),
    ticket: base.ticket,
    // Matchable by whoever holds the audit HMAC key (`ephemera audit hmac VALUE`), never the address itself.
    sourceAddressHmac: deps.auditHmac.tagOrNull(meta.sourceAddress),
    ...(intent ? { intent } : {}),
    ...(breakGlass ? { breakGlass: true } : {}),
    client: facts.client,
    // The credential is bound for an AI model's context (`ephemera mcp` with reveal): findable without reading `client`.
    ...(facts.client.reveal === true ? { reveal: true } : {}),
    // How the caller proved itself: never the credential, only its kind and the HMAC of its id (key id, jti or hash).
    ...(meta.authentication
      ? {
          authentication: {
            method: meta.authentication.method,
            credentialIdHmac: deps.auditHmac.tag(meta.authentication.credentialId),
            ...(typeof meta.authentication.claims.rule === "string"
              ? { authenticator: meta.authentication.claims.authenticator, rule: meta.authentication.claims.rule }
              : {}),
          },
        }
      : {}),
    ...(meta.proof ? { boundTo: meta.proof.binding.jkt } : {}),
  };
  // A single-use credential is claimed with the decision it obtains, whatever it is: a replay gets no decision. The
  // Idempotency-Key record commits with the request too, so racing retries make one request.
  const claims = singleUseClaims(meta, base.id, now);
  const always: Write[] = [...claims, ...(idem ? [recordRequest(idem, base.id, now)] : [])];
  const binding = meta.proof?.binding ?? null;
  const claimed = <T>(run: () => Promise<T>): Promise<T> => {
    let result: T | undefined;
    return commitClaimed(deps, caller, meta, claims, async () => {
      result = await run();
    }).then(() => result as T);
  };

  if (decision.outcome === "deny") {
    deps.observer.decision("deny");
    await claimed(() =>
      commit(deps, {
        writes: [{ kind: "insertRequest", request: base }, ...always],
        audit: [
          draft(
            breakGlass ? "break_glass.denied" : "request.denied",
            now,
            actorOf(caller),
            { request: base },
            data,
            "denied",
          ),
        ],
      }),
    );
    return { outcome: "denied", request: base };
  }
  const max = breakGlass
    ? Math.min(decision.maxDurationSeconds ?? entitlement.maxDurationSeconds, settings.breakGlassMaxSeconds)
    : decision.maxDurationSeconds;
  if (max !== null && durationSeconds > max) {
    throw await reject(
      "duration_too_long",
      `duration ${durationSeconds}s is above the ${max}s ${breakGlass ? "break-glass" : "policy"} allows for '${entitlement.name}'`,
      "duration",
    );
  }
  deps.observer.decision("allow");
  const flagged = flagWrites(deps, decision, base, now);

  if (breakGlass) {
    const review = {
      dueAt: now + settings.reviewWithinMs,
      reviewedBy: null,
      reviewedAt: null,
      outcome: null,
      note: null,
      overdueAt: null,
    };
    const request: AccessRequest = { ...base, state: "approved", review, dueAt: review.dueAt };
    const payload = notice(request, caller, { justification: request.justification, reviewDueAt: iso(review.dueAt) });
    deps.observer.approval?.("break_glass");
    const issued = await claimed(() =>
      issueApproved(deps, {
        requester: caller,
        request,
        entitlement,
        connector,
        binding,
        always,
        decision: { ...decision, maxDurationSeconds: max },
        opening: [
          draft("break_glass.used", now, actorOf(caller), { request }, { ...data, reviewDueAt: review.dueAt }),
          ...flagged.audit,
        ],
        storedVersion: null,
        alongside: [
          ...(deps.notifier?.writes("break_glass", payload, now) ?? []),
          ...flagged.writes,
          // The target's admin secret is rotated once this grant has ended (where the target supports it).
          rotateAfter.put(request.id, { targetId: request.targetId }),
        ],
      }),
    );
    return { outcome: "issued", ...issued };
  }

  if (decision.approval === "required") {
    const request: AccessRequest = { ...base, state: "pending", dueAt: now + settings.pendingTimeoutMs };
    deps.observer.approval?.("pending");
    await claimed(() =>
      commit(deps, {
        writes: [
          { kind: "insertRequest", request },
          ...always,
          ...(deps.notifier?.writes(
            "approval_pending",
            notice(request, caller, { approvers: decision.approvers ?? [], expiresAt: iso(request.dueAt ?? now) }),
            now,
          ) ?? []),
          ...flagged.writes,
        ],
        audit: [
          draft("request.pending", now, actorOf(caller), { request }, { ...data, pendingUntil: request.dueAt }),
          ...flagged.audit,
        ],
      }),
    );
    return { outcome: "pending", request };
  }

  const request: AccessRequest = { ...base, state: "approved" };
  const issued = await claimed(() =>
    issueApproved(deps, {
      requester: caller,
      request,
      entitlement,
      connector,
      binding,
      always,
      decision,
      opening: [draft("request.approved", now, actorOf(caller), { request }, data), ...flagged.audit],
      storedVersion: null,
      alongside: flagged.writes,
    }),
  );
  return { outcome: "issued", ...issued };
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Audit and notification for a decision a policy flagged (e.g. a person using a non-human identity). */
function flagWrites(
  deps: LifecycleDeps,
  decision: Decision,
  request: AccessRequest,
  now: number,
): { audit: ReturnType<typeof draft>[]; writes: Write[] } {
  const flags = decision.flags ?? [];
  if (flags.length === 0) return { audit: [], writes: [] };
  const facts = request.facts;
  return {
    audit: [
      draft(
        "request.flagged",
        now,
        { type: "identity", id: request.identityId },
        { request },
        { flags, policies: decision.determiningPolicies, client: facts?.client ?? null },
      ),
    ],
    writes:
      deps.notifier?.writes(
        "request_flagged",
        {
          requestId: request.id,
          identity: request.identityId,
          entitlement: request.entitlement,
          flags,
          client: facts?.client,
        },
        now,
      ) ?? [],
  };
}
