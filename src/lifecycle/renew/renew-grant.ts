// Renewal: policy is asked again and the new expiry never passes the grant's maximum (DESIGN §6.10).
import type { IssuedCredential } from "../../connectors/index.js";
import type { Grant, Identity } from "../../domain/index.js";
import { actionsOutside, grantRenewed, type IntentInput, intentOf, parseDuration } from "../../domain/index.js";
import { describeError, EphemeraError } from "../../support/index.js";
import { evaluateRequest, factsOf } from "../policy/evaluate-request.js";
import { actorOf, draft } from "../shared/audit-draft.js";
import { commitGrant } from "../shared/commit.js";
import type { LifecycleDeps, RequestMeta } from "../shared/deps.js";
import { loadOwnGrant } from "../shared/ownership.js";
import { refuse } from "../shared/refuse.js";
import { keepProbeSecret } from "../verify/probe-secret.js";

export interface RenewResult {
  readonly grant: Grant;
  /** A fresh credential when the target's credentials carry their own expiry; null when the old one keeps working. */
  readonly credential: IssuedCredential | null;
  /** True when the expiry was cut back to the grant's maximum. */
  readonly capped: boolean;
}

export async function renewGrant(
  deps: LifecycleDeps,
  caller: Identity,
  grantId: string,
  input: { duration?: string | number | undefined; intent?: IntentInput | undefined },
  meta: RequestMeta,
): Promise<RenewResult> {
  const grant = await loadOwnGrant(deps, caller, grantId);
  const deny = (
    errorCode:
      | "invalid_state"
      | "invalid_duration"
      | "denied"
      | "max_duration_reached"
      | "duration_too_long"
      | "intent_exceeded",
    message: string,
  ) => refuse(deps, caller, { auditCode: "grant.renew_denied", errorCode, message, grantId: grant.id });

  const entitlement = deps.catalog.entitlement(grant.entitlement);
  const connector = deps.catalog.connector(grant.targetId);
  if (grant.state !== "active" || !entitlement || !connector) {
    throw await deny("invalid_state", `grant '${grant.id}' is ${grant.state}, not active`);
  }
  // Past its expiry a grant is over, even if the scheduler has not ended it yet: renewal must not revive it.
  if (grant.expiresAt <= deps.clock.now()) {
    throw await deny("invalid_state", `grant '${grant.id}' has expired`);
  }
  const seconds = input.duration === undefined ? entitlement.defaultDurationSeconds : parseDuration(input.duration);
  if (seconds === null || seconds <= 0) {
    throw await deny(
      "invalid_duration",
      `duration '${String(input.duration).slice(0, 64)}' is not a positive duration`,
    );
  }
  if (seconds > entitlement.maxDurationSeconds) {
    throw await deny(
      "duration_too_long",
      `duration ${seconds}s is above the maximum of ${entitlement.maxDurationSeconds}s`,
    );
  }
  if (grant.expiresAt >= grant.maxExpiresAt) {
    throw await deny("max_duration_reached", `grant '${grant.id}' already runs to its maximum`);
  }
  // Policy is asked about the grant's owner, whoever renews; an owner no longer configured cannot be renewed for.
  const owner = grant.identityId === caller.id ? caller : await deps.catalog.identity(grant.identityId);
  if (!owner) throw await deny("denied", `identity '${grant.identityId}' is no longer configured`);
  const request = await deps.store.getRequest(grant.requestId);
  const granted = request?.intent ?? null;
  // Renewal extends the task it was granted for; asking for more is a new request, decided (and approved) anew.
  const outside = actionsOutside(granted, intentOf(input.intent));
  if (outside.length > 0) {
    throw await deny("intent_exceeded", `the granted intent does not cover ${outside.join(", ")}; make a new request`);
  }
  const decision = evaluateRequest(
    deps,
    owner,
    entitlement,
    seconds,
    { justification: request?.justification, ticket: request?.ticket, intent: granted },
    factsOf(meta),
    "renew",
  );
  if (decision.outcome === "deny") throw await deny("denied", decision.reason);

  const now = deps.clock.now();
  const wanted = now + seconds * 1000;
  // A policy whose maximum shrank since issue caps the renewal too; the grant's own maximum is never passed.
  const policyMax =
    decision.maxDurationSeconds === null
      ? grant.maxExpiresAt
      : (grant.issuedAt ?? grant.createdAt) + decision.maxDurationSeconds * 1000;
  const ceiling = Math.min(grant.maxExpiresAt, policyMax);
  if (ceiling <= grant.expiresAt)
    throw await deny("max_duration_reached", `grant '${grant.id}' already runs to the maximum policy allows`);
  const expiresAt = Math.max(grant.expiresAt, Math.min(wanted, ceiling));
  let response: Awaited<ReturnType<typeof connector.renew>>;
  try {
    response = await connector.renew({ grant, identity: owner, entitlement, expiresAt, intent: granted });
  } catch (error) {
    throw new EphemeraError("downstream_unavailable", `target '${grant.targetId}' could not renew the credential`, {
      detail: describeError(error),
      cause: error,
    });
  }
  const renewed = grantRenewed(grant, expiresAt, { ...grant.handleData, ...response.handleData });
  await commitGrant(
    deps,
    grant,
    renewed,
    draft(
      "grant.renewed",
      now,
      actorOf(caller),
      { grant: renewed },
      {
        previousExpiresAt: grant.expiresAt,
        expiresAt,
        maxExpiresAt: grant.maxExpiresAt,
        capped: wanted > expiresAt,
        policies: decision.determiningPolicies,
        policyVersion: decision.policyVersion ?? deps.decider.version,
      },
    ),
    response.probe ? [keepProbeSecret(deps, grant, response.probe)] : [],
  );
  deps.observer.renewed(renewed);
  // A fresh credential goes only to the grant's owner: an admin extending someone's access does not get to use it.
  const credential = caller.id === grant.identityId ? response.credential : null;
  return { grant: renewed, credential, capped: wanted > expiresAt };
}
