// The approval stage's clock: times out requests that waited too long, raises the alarm on overdue break-glass
// reviews, and rotates a target's admin secret once a break-glass grant on it has ended. Reads the due index only.

import type { AccessRequest } from "../../domain/index.js";
import { notice, transitionRequest } from "../../domain/index.js";
import { ConflictError, StateNamespace } from "../../storage/index.js";
import { describeError } from "../../support/index.js";
import { rotateTargetSecretAsSystem } from "../monitor/rotate-target-secret.js";
import { draft, systemActor } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";

/** Where break-glass requests wait for their grant to end, so the target's admin secret is rotated after; by request id. */
export const rotateAfter = new StateNamespace<{ readonly targetId: string }>("break-glass-rotation");

const actor = systemActor("approval-sweeper");
const ENDED = new Set(["revoked", "verified"]);

export interface SweepResult {
  readonly timedOut: number;
  readonly overdue: number;
  readonly rotated: number;
}

export async function sweepRequests(deps: LifecycleDeps, limit = 500): Promise<SweepResult> {
  let timedOut = 0;
  let overdue = 0;
  const due = await deps.store.dueRequests(deps.clock.now(), limit);
  for (const request of due) {
    try {
      if (request.state === "pending" || request.state === "approved") {
        await timeOut(deps, request);
        timedOut++;
      } else if (request.review !== null && request.review.reviewedAt === null && request.review.overdueAt === null) {
        await raiseOverdue(deps, request);
        overdue++;
      } else {
        // Nothing left to do for it (a race moved it on): take it off the due index.
        await commit(deps, {
          writes: [
            {
              kind: "updateRequest",
              request: { ...request, dueAt: null, version: request.version + 1 },
              expectedVersion: request.version,
            },
          ],
          audit: [
            draft("request.timed_out", deps.clock.now(), actor, { request }, { cleared: true, state: request.state }),
          ],
        });
      }
    } catch (error) {
      if (error instanceof ConflictError) continue; // someone acted on it first; it is read again next pass
      deps.logger.error({ requestId: request.id, err: describeError(error) }, "could not process a due request");
    }
  }
  const rotated = await rotateAfterBreakGlass(deps);
  return { timedOut, overdue, rotated };
}

async function timeOut(deps: LifecycleDeps, request: AccessRequest): Promise<void> {
  const now = deps.clock.now();
  const waited = Math.round((now - request.updatedAt) / 1000);
  const reason =
    request.state === "pending"
      ? `no approval quorum within the pending timeout (waited ${waited}s)`
      : `the approved credential was not collected in time (waited ${waited}s)`;
  const timed = transitionRequest(request, "time_out", now, { stateReason: reason, dueAt: null });
  await commit(deps, {
    writes: [{ kind: "updateRequest", request: timed, expectedVersion: request.version }],
    audit: [draft("request.timed_out", now, actor, { request: timed }, { reason, previousState: request.state })],
  });
  deps.observer.approval?.("timed_out");
}

async function raiseOverdue(deps: LifecycleDeps, request: AccessRequest): Promise<void> {
  const now = deps.clock.now();
  const review = request.review;
  if (review === null) return;
  const alarmed: AccessRequest = {
    ...request,
    review: { ...review, overdueAt: now },
    dueAt: null,
    updatedAt: now,
    version: request.version + 1,
  };
  await commit(deps, {
    writes: [
      { kind: "updateRequest", request: alarmed, expectedVersion: request.version },
      ...(deps.notifier?.writes(
        "review_overdue",
        notice(alarmed, null, {
          grantId: request.grantId,
          reviewDueAt: new Date(review.dueAt).toISOString(),
        }),
        now,
      ) ?? []),
    ],
    audit: [draft("break_glass.review_overdue", now, actor, { request: alarmed }, { reviewDueAt: review.dueAt })],
  });
  deps.observer.approval?.("review_overdue");
  deps.logger.warn({ requestId: request.id, grantId: request.grantId }, "break-glass review is overdue");
}

/** Rotates the admin secret of each target whose break-glass grant has ended; keeps the entry until it succeeds. */
async function rotateAfterBreakGlass(deps: LifecycleDeps): Promise<number> {
  let rotated = 0;
  for (const entry of await rotateAfter.in(deps.store).list()) {
    const request = await deps.store.getRequest(entry.key);
    const grant = request?.grantId ? await deps.store.getGrant(request.grantId) : null;
    // A request that never got a grant (issue failed) leaves nothing to rotate for once it is settled.
    const settled = request !== null && (request.state === "failed" || request.state === "denied");
    if (!settled && (!grant || !ENDED.has(grant.state))) continue;
    const targetId = entry.value.targetId;
    try {
      const result = settled && !grant ? null : await rotateTargetSecretAsSystem(deps, "break-glass", targetId);
      await commit(deps, {
        writes: [rotateAfter.delete(entry.key)],
        audit: [
          draft(
            "target.rotation_run",
            deps.clock.now(),
            systemActor("break-glass"),
            { request },
            {
              target: targetId,
              after: "break_glass",
              rotated: result?.rotated ?? false,
              detail: result?.detail ?? "no grant was issued",
            },
          ),
        ],
      });
      rotated++;
    } catch (error) {
      // Audited by rotateTargetSecret; tried again on the next pass.
      deps.logger.warn(
        { target: targetId, err: describeError(error) },
        "admin rotation after break-glass failed; will retry",
      );
    }
  }
  return rotated;
}
