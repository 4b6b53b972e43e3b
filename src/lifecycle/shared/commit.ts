// Applies a change set and turns store failures into the one error callers see: nothing is done without its audit record.
import type { AuditDraft, AuditEvent, Grant } from "../../domain/index.js";
import { type ChangeSet, ConflictError, type Write } from "../../storage/index.js";
import { describeError, EphemeraError } from "../../support/index.js";
import type { LifecycleDeps } from "./deps.js";

export async function commit(deps: LifecycleDeps, changes: ChangeSet): Promise<readonly AuditEvent[]> {
  try {
    return await deps.store.apply(changes);
  } catch (error) {
    if (error instanceof ConflictError) throw error;
    deps.logger.error(
      { err: describeError(error) },
      "store write failed; the change and its audit event were not recorded",
    );
    throw new EphemeraError("audit_unavailable", "the audit log cannot be written, so nothing was done", {
      detail: describeError(error),
      cause: error,
    });
  }
}

/** Commits one grant's move from `before` to `after` with the audit event that records it (and writes that go with it). */
export async function commitGrant(
  deps: LifecycleDeps,
  before: Grant,
  after: Grant,
  event: AuditDraft,
  alongside: readonly Write[] = [],
): Promise<void> {
  await commit(deps, {
    writes: [{ kind: "updateGrant", grant: after, expectedVersion: before.version }, ...alongside],
    audit: [event],
  });
}

/** Moves of a grant made but not committed yet: the grant as stored before them, and the events that record them. */
export interface PendingMoves {
  readonly stored: Grant;
  readonly events: readonly AuditDraft[];
}

/**
 * Commits several of one grant's moves at once (`before` → … → `after`, each step made by the domain's transitions)
 * with their events in order. The stored version moves by one, as for any change set; returns the grant as stored.
 */
export async function commitGrantSteps(
  deps: LifecycleDeps,
  before: Grant,
  after: Grant,
  events: readonly AuditDraft[],
  alongside: readonly Write[] = [],
): Promise<Grant> {
  const stored = { ...after, version: before.version + 1 };
  await commit(deps, {
    writes: [{ kind: "updateGrant", grant: stored, expectedVersion: before.version }, ...alongside],
    audit: events,
  });
  return stored;
}
