// Offboarding: one audited step disables an identity (API keys and trust-rule admission stop at once, since both read
// its status), ends every active grant it holds on every target and cancels its open requests; then each grant's
// removal is driven like any other, and a removal that fails is retried by the scheduler.

import type { AccessRequest, AuditDraft, Grant, Identity, IdentityRecord, RequestFacts } from "../../domain/index.js";
import { grantEnded, identityWithStatus, transitionRequest } from "../../domain/index.js";
import { ConflictError, type Write } from "../../storage/index.js";
import { describeError, EphemeraError, randomToken } from "../../support/index.js";
import { driveRemoval } from "../revoke/drive-removal.js";
import { actorOf, draft } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { identityToActOn, loadIdentity } from "./load-identity.js";
import { countActiveAdmins } from "./mark-dormant.js";

export interface OffboardResult {
  readonly identity: IdentityRecord;
  /** Ties the `identity.offboarded` event to each grant's `grant.revoking` and each `request.cancelled` event. */
  readonly correlationId: string | null;
  /** False when the identity was already offboarded and nothing was left to end: no event was written. */
  readonly changed: boolean;
  /** Grants this call ended, with where their removal stands (`verified`, or `revoke_failed` and retried). */
  readonly grants: readonly { readonly id: string; readonly target: string; readonly state: Grant["state"] }[];
  readonly cancelledRequests: readonly string[];
  /** Grants of the identity already being removed (or still being issued) when this ran: the scheduler finishes them. */
  readonly inProgress: readonly { readonly id: string; readonly state: Grant["state"] }[];
}

const PAGE = 500;
/** How many removals run at once: one offboarding must not take every connection a target has. */
const REMOVALS_AT_ONCE = 8;

async function allGrants(deps: LifecycleDeps, identityId: string, states: Grant["state"][]): Promise<Grant[]> {
  const out: Grant[] = [];
  for (let after: string | undefined; ; ) {
    const page = await deps.store.listGrants({ identityId, states, limit: PAGE, ...(after ? { after } : {}) });
    out.push(...page);
    if (page.length < PAGE) return out;
    after = page.at(-1)?.id;
  }
}

async function openRequests(deps: LifecycleDeps, identityId: string): Promise<AccessRequest[]> {
  const out: AccessRequest[] = [];
  for (let after: string | undefined; ; ) {
    const page = await deps.store.listRequests({
      identityId,
      states: ["pending", "approved"],
      limit: PAGE,
      ...(after ? { after } : {}),
    });
    out.push(...page);
    if (page.length < PAGE) return out;
    after = page.at(-1)?.id;
  }
}

/** Commits the offboarding; retried from a fresh read when a grant or request changed meanwhile. */
async function commitOffboarding(
  deps: LifecycleDeps,
  admin: Identity,
  identityId: string,
  reason: string,
): Promise<{ result: Omit<OffboardResult, "grants">; ending: Grant[] }> {
  for (let attempt = 1; ; attempt++) {
    const identity = await loadIdentity(deps, admin, identityId);
    const active = await allGrants(deps, identity.id, ["active"]);
    const requests = await openRequests(deps, identity.id);
    const inProgress = (await allGrants(deps, identity.id, ["issuing", "revoking", "revoke_failed"])).map((g) => ({
      id: g.id,
      state: g.state,
    }));
    const already = identity.status === "offboarded";
    if (!already && identity.id === admin.id) {
      throw new EphemeraError("invalid_request", "an admin cannot offboard themselves; ask another admin");
    }
    // Offboarding is for good and only an admin can act on identities: the last active admin is never offboarded.
    if (!already && identity.admin && identity.status === "active" && (await countActiveAdmins(deps)) <= 1) {
      throw new EphemeraError("invalid_state", `'${identity.id}' is the last active admin; make another admin first`);
    }
    if (already && active.length === 0 && requests.length === 0) {
      return {
        result: { identity, correlationId: null, changed: false, cancelledRequests: [], inProgress },
        ending: [],
      };
    }
    const now = deps.clock.now();
    const correlationId = `ofb_${randomToken(20)}`;
    const actor = actorOf(admin);
    const offboarded: IdentityRecord = already
      ? identity
      : identityWithStatus(identity, "offboarded", `offboarded by ${admin.id}: ${reason}`, now);
    const ending = active.map((g) =>
      grantEnded(g, "end", "offboarded", admin.id, now, now + deps.settings.removalClaimMs),
    );
    const cancelled = requests.map((r) =>
      transitionRequest(r, "cancel", now, { stateReason: `identity offboarded by ${admin.id}`, dueAt: null }),
    );
    const writes: Write[] = [
      ...(already
        ? []
        : [{ kind: "updateIdentity", identity: offboarded, expectedVersion: identity.version } as const]),
      ...ending.map((g, i) => ({ kind: "updateGrant", grant: g, expectedVersion: active[i]!.version }) as const),
      ...cancelled.map(
        (r, i) => ({ kind: "updateRequest", request: r, expectedVersion: requests[i]!.version }) as const,
      ),
    ];
    const audit: AuditDraft[] = [
      draft(
        "identity.offboarded",
        now,
        actor,
        { identityId: identity.id },
        {
          correlationId,
          reason,
          previousStatus: identity.status,
          ...(already ? { repeat: true } : {}),
          grants: ending.map((g) => g.id),
          cancelledRequests: cancelled.map((r) => r.id),
          inProgress: inProgress.map((g) => g.id),
        },
      ),
      ...ending.map((g, i) =>
        draft(
          "grant.revoking",
          now,
          actor,
          { grant: g },
          { handle: g.handle, reason: "offboarded", expiresAt: active[i]!.expiresAt, note: reason, correlationId },
        ),
      ),
      ...cancelled.map((r, i) =>
        draft("request.cancelled", now, actor, { request: r }, { previousState: requests[i]!.state, correlationId }),
      ),
    ];
    try {
      await commit(deps, { writes, audit });
      return {
        result: {
          identity: offboarded,
          correlationId,
          changed: true,
          cancelledRequests: cancelled.map((r) => r.id),
          inProgress,
        },
        ending,
      };
    } catch (error) {
      // A grant renewed or ended, or a request moved, between the read and the write: read everything again.
      if (!(error instanceof ConflictError) || attempt >= 5) throw error;
    }
  }
}

/**
 * Offboards an identity; policy decides `offboard` on it (others are refused, audited). A credential being issued
 * meanwhile never reaches its caller: its request (approved, not yet issued) is cancelled here, so the commit
 * fails, the credential is taken back and the scheduler ends the grant.
 * Idempotent: a second call ends whatever is left and otherwise changes nothing and writes no event.
 */
export async function offboardIdentity(
  deps: LifecycleDeps,
  admin: Identity,
  identityId: string,
  reason: string,
  facts: RequestFacts | null = null,
): Promise<OffboardResult> {
  await identityToActOn(deps, admin, identityId, "offboard", "offboarding an identity", facts);
  const first = await commitOffboarding(deps, admin, identityId, reason);
  // A grant that became active after the read above and before its commit was not seen; the issue re-checks the
  // status only before that point. One more pass, after the commit, ends such a grant (and writes nothing otherwise).
  const sweep = first.result.changed ? await commitOffboarding(deps, admin, identityId, reason) : null;
  const result = {
    ...first.result,
    cancelledRequests: [...first.result.cancelledRequests, ...(sweep?.result.cancelledRequests ?? [])],
  };
  const ending = [...first.ending, ...(sweep?.ending ?? [])];
  for (const _ of result.cancelledRequests) deps.observer.approval?.("cancelled");
  const grants: { id: string; target: string; state: Grant["state"] }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < ending.length) {
      const grant = ending[next++]!;
      let state: Grant["state"];
      try {
        state = (await driveRemoval(deps, grant)).state;
      } catch (error) {
        // The grant is in `revoking` with a claim that lapses: the scheduler takes the removal over.
        deps.logger.error({ grantId: grant.id, err: describeError(error) }, "removal after offboarding failed");
        state = (await deps.store.getGrant(grant.id).catch(() => null))?.state ?? grant.state;
      }
      grants.push({ id: grant.id, target: grant.targetId, state });
    }
  };
  await Promise.all(Array.from({ length: Math.min(REMOVALS_AT_ONCE, ending.length) }, worker));
  grants.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { ...result, grants };
}
