// Stage 1, request: check what the caller asks for, ask policy and open the request, then record a denial, leave it
// pending for its approvers, or issue at once (auto-approval, break-glass).
import type { Connector, CredentialBinding, IssuedCredential } from "../../connectors/index.js";
import type { AccessRequest, Decision, Grant, Identity, Millis } from "../../domain/index.js";
import {
  durationAsked,
  echo,
  type IntentInput,
  intentOf,
  notice,
  openRequest,
  type RejectCode,
} from "../../domain/index.js";
import { ConflictError, type Write } from "../../storage/index.js";
import { EphemeraError, newId } from "../../support/index.js";
import { approvalSettings } from "../approval/settings.js";
import { rotateAfter } from "../approval/sweep-requests.js";
import { type IssueApprovedInput, issueApproved } from "../issue/issue-approved.js";
import { evaluateRequest, factsOf } from "../policy/evaluate-request.js";
import { actorOf, draft } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps, RequestMeta } from "../shared/deps.js";
import { refuse } from "../shared/refuse.js";
import { commitClaimed, singleUseClaims } from "../shared/single-use.js";
import { type Idempotency, idempotencyOf, recordedRequest, recordRequest } from "./idempotency.js";
import { type AskRecord, decisionAudit, flagWrites } from "./request-audit.js";

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

/** What was asked, checked against the catalogue: the entitlement, its target, the duration in seconds, the intent. */
interface Ask extends AskRecord {
  readonly connector: Connector;
}

/** A request just opened by its decision, with what each way on from here needs. */
interface Opened {
  readonly caller: Identity;
  readonly ask: Ask;
  readonly request: AccessRequest;
  readonly decision: Decision;
  readonly now: Millis;
  /** The decision's audit data, shared by whichever event records the outcome. */
  readonly data: Record<string, unknown>;
  /** Commits with whatever this attempt commits: the single-use claims and the Idempotency-Key record. */
  readonly always: readonly Write[];
  readonly binding: CredentialBinding | null;
  /** The caller's registry version as authentication read it, asserted by the credential's commit. */
  readonly identityVersion: number | undefined;
  /** Runs a commit with the caller's single-use credentials claimed alongside it. */
  claimed<T>(run: () => Promise<T>): Promise<T>;
}

type Reject = (errorCode: RejectCode, message: string, field: string) => Promise<EphemeraError>;

/** One attempt: check the ask, ask policy, open the request, then record the denial, wait for approvers or issue. */
async function requestOnce(
  deps: LifecycleDeps,
  caller: Identity,
  input: AccessRequestInput,
  meta: RequestMeta,
  idem: Idempotency | null,
): Promise<AccessRequestResult> {
  const reject: Reject = async (errorCode, message, field) => {
    deps.observer.decision("rejected");
    return refuse(deps, caller, {
      auditCode: "request.rejected",
      errorCode,
      message,
      data: { entitlement: echo(input.entitlement), field },
      extensions: { field },
    });
  };
  const ask = await checkAsk(deps, input, meta, reject);
  const opened = decideAndOpen(deps, caller, input, meta, idem, ask);
  if (opened.request.state === "denied") return recordDenial(deps, opened);
  const max = durationCeiling(deps, opened);
  if (max !== null && ask.durationSeconds > max) {
    throw await reject(
      "duration_too_long",
      `duration ${ask.durationSeconds}s is above the ${max}s ${ask.breakGlass ? "break-glass" : "policy"} allows for '${ask.entitlement.name}'`,
      "duration",
    );
  }
  deps.observer.decision("allow");
  if (ask.breakGlass) return issueBreakGlass(deps, opened, max);
  if (opened.request.state === "pending") return waitForApprovers(deps, opened);
  return issueAtOnce(deps, opened);
}

/** Refuses (audited) an unknown entitlement, a proof its target cannot bind, break-glass without a reason, a bad duration. */
async function checkAsk(
  deps: LifecycleDeps,
  input: AccessRequestInput,
  meta: RequestMeta,
  reject: Reject,
): Promise<Ask> {
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
  const intent = intentOf(input.intent);
  return { entitlement, connector, durationSeconds: asked.seconds, breakGlass, intent, ticket: input.ticket ?? null };
}

/** Asks policy and opens the request in the state the domain gives its decision; nothing is committed yet. */
function decideAndOpen(
  deps: LifecycleDeps,
  caller: Identity,
  input: AccessRequestInput,
  meta: RequestMeta,
  idem: Idempotency | null,
  ask: Ask,
): Opened {
  const { entitlement, durationSeconds, breakGlass, intent } = ask;
  const now = deps.clock.now();
  const facts = factsOf(meta);
  const askedFor = { justification: input.justification, ticket: input.ticket, intent, breakGlass };
  const action = breakGlass ? "break_glass" : "request";
  const decision = evaluateRequest(deps, caller, entitlement, durationSeconds, askedFor, facts, action);
  const request = openRequest(
    {
      id: newId("req"),
      identityId: caller.id,
      entitlement: entitlement.name,
      targetId: entitlement.targetId,
      durationSeconds,
      justification: input.justification ?? null,
      ticket: ask.ticket,
      intent,
      breakGlass,
      decision,
      createdAt: now,
      facts,
    },
    approvalSettings(deps),
  );
  // A single-use credential is claimed with the decision it obtains, whatever it is: a replay gets no decision. The
  // Idempotency-Key record commits with the request too, so racing retries make one request.
  const claims = singleUseClaims(meta, request.id, now);
  return {
    caller,
    ask,
    request,
    decision,
    now,
    data: decisionAudit(deps, ask, decision, meta, facts),
    always: [...claims, ...(idem ? [recordRequest(idem, request.id, now)] : [])],
    binding: meta.proof?.binding ?? null,
    identityVersion: meta.authentication?.identityVersion,
    claimed: async <T>(run: () => Promise<T>): Promise<T> => {
      let result: T | undefined;
      await commitClaimed(deps, caller, meta, claims, async () => {
        result = await run();
      });
      return result as T;
    },
  };
}

/** Policy said no: the request is kept, denied, with the single-use claims. */
async function recordDenial(deps: LifecycleDeps, opened: Opened): Promise<AccessRequestResult> {
  const { caller, request, now } = opened;
  deps.observer.decision("deny");
  await opened.claimed(() =>
    commit(deps, {
      writes: [{ kind: "insertRequest", request }, ...opened.always],
      audit: [
        draft(
          request.breakGlass ? "break_glass.denied" : "request.denied",
          now,
          actorOf(caller),
          { request },
          opened.data,
          "denied",
        ),
      ],
    }),
  );
  return { outcome: "denied", request };
}

/** The longest duration allowed: the policy's, and for break-glass no more than the entitlement's and the setting's. */
function durationCeiling(deps: LifecycleDeps, { ask, decision }: Opened): number | null {
  if (!ask.breakGlass) return decision.maxDurationSeconds;
  const ceiling = decision.maxDurationSeconds ?? ask.entitlement.maxDurationSeconds;
  return Math.min(ceiling, approvalSettings(deps).breakGlassMaxSeconds);
}

/** Break-glass: issued at once, reviewed after the fact, and the target's admin secret rotated once the grant ends. */
async function issueBreakGlass(deps: LifecycleDeps, opened: Opened, max: number | null): Promise<AccessRequestResult> {
  const { caller, request, now } = opened;
  // Break-glass always opens with its review due.
  const reviewDueAt = request.review!.dueAt;
  const payload = notice(request, caller, { justification: request.justification, reviewDueAt: iso(reviewDueAt) });
  const flagged = flagWrites(deps, opened.decision, request, now);
  deps.observer.approval?.("break_glass");
  return issueOpened(deps, opened, {
    decision: { ...opened.decision, maxDurationSeconds: max },
    opening: [
      draft("break_glass.used", now, actorOf(caller), { request }, { ...opened.data, reviewDueAt }),
      ...flagged.audit,
    ],
    alongside: [
      ...(deps.notifier?.writes("break_glass", payload, now) ?? []),
      ...flagged.writes,
      // The target's admin secret is rotated once this grant has ended (where the target supports it).
      rotateAfter.put(request.id, { targetId: request.targetId }),
    ],
  });
}

/** Approval required: the request waits, and its approvers are told. */
async function waitForApprovers(deps: LifecycleDeps, opened: Opened): Promise<AccessRequestResult> {
  const { caller, request, decision, now } = opened;
  const flagged = flagWrites(deps, decision, request, now);
  deps.observer.approval?.("pending");
  await opened.claimed(() =>
    commit(deps, {
      writes: [
        { kind: "insertRequest", request },
        ...opened.always,
        ...(deps.notifier?.writes(
          "approval_pending",
          notice(request, caller, { approvers: decision.approvers ?? [], expiresAt: iso(request.dueAt ?? now) }),
          now,
        ) ?? []),
        ...flagged.writes,
      ],
      audit: [
        draft("request.pending", now, actorOf(caller), { request }, { ...opened.data, pendingUntil: request.dueAt }),
        ...flagged.audit,
      ],
    }),
  );
  return { outcome: "pending", request };
}

/** Auto-approved: issued now. */
async function issueAtOnce(deps: LifecycleDeps, opened: Opened): Promise<AccessRequestResult> {
  const { caller, request, decision, now } = opened;
  const flagged = flagWrites(deps, decision, request, now);
  return issueOpened(deps, opened, {
    decision,
    opening: [draft("request.approved", now, actorOf(caller), { request }, opened.data), ...flagged.audit],
    alongside: flagged.writes,
  });
}

/** Issues the opened request's grant now, the request inserted with it, under the request's single-use claims. */
async function issueOpened(
  deps: LifecycleDeps,
  opened: Opened,
  how: Pick<IssueApprovedInput, "decision" | "opening" | "alongside">,
): Promise<AccessRequestResult> {
  const issued = await opened.claimed(() =>
    issueApproved(deps, {
      requester: opened.caller,
      request: opened.request,
      entitlement: opened.ask.entitlement,
      connector: opened.ask.connector,
      binding: opened.binding,
      always: opened.always,
      identityVersion: opened.identityVersion,
      storedVersion: null,
      ...how,
    }),
  );
  return { outcome: "issued", ...issued };
}

const iso = (ms: number): string => new Date(ms).toISOString();
