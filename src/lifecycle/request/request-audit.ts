// What a request's decision puts in the audit trail, and what a flagged decision tells the notifiers.
import type { EntitlementSpec } from "../../connectors/index.js";
import type { AccessRequest, Decision, Intent, RequestFacts } from "../../domain/index.js";
import type { Write } from "../../storage/index.js";
import { decisionData } from "../policy/evaluate-request.js";
import { draft } from "../shared/audit-draft.js";
import type { LifecycleDeps, RequestMeta } from "../shared/deps.js";

/** The parts of a checked ask the audit trail records. */
export interface AskRecord {
  readonly entitlement: EntitlementSpec;
  readonly durationSeconds: number;
  readonly breakGlass: boolean;
  readonly intent: Intent | null;
  readonly ticket: string | null;
}

/** What every outcome's audit event says about the decision and how the caller asked. */
export function decisionAudit(
  deps: LifecycleDeps,
  ask: AskRecord,
  decision: Decision,
  meta: RequestMeta,
  facts: RequestFacts,
): Record<string, unknown> {
  return {
    entitlement: ask.entitlement.name,
    durationSeconds: ask.durationSeconds,
    ...decisionData(decision, deps.decider.version),
    ticket: ask.ticket,
    // Matchable by whoever holds the audit HMAC key (`ephemera audit hmac VALUE`), never the address itself.
    sourceAddressHmac: deps.auditHmac.tagOrNull(meta.sourceAddress),
    ...(ask.intent ? { intent: ask.intent } : {}),
    ...(ask.breakGlass ? { breakGlass: true } : {}),
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
}

/** Audit and notification for a decision a policy flagged (e.g. a person using a non-human identity). */
export function flagWrites(
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
