// Admin-secret rotation of one target, asked for by an admin (`ephemera rotate`) or by the broker itself (the
// maintenance schedule, the end of a break-glass grant). The connector does the crash-safe steps; this records who
// asked, what happened and when, for the schedule.
import type { Actor, Identity, Millis, RequestFacts } from "../../domain/index.js";
import { StateNamespace } from "../../storage/index.js";
import { describeError, EphemeraError } from "../../support/index.js";
import { actorOf, draft, systemActor } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { requirePermission } from "../shared/require-permission.js";

export interface RotationRecord {
  readonly rotatedAt: Millis;
  readonly rotated: boolean;
  readonly detail: string;
}

/** The last rotation that rotated, by target id. */
const rotations = new StateNamespace<RotationRecord>("admin-rotation");

/**
 * Someone policy lets `rotate` the target rotates its secret now; anyone else is refused (403, audited) before the
 * target is looked up.
 */
export async function rotateTargetSecret(
  deps: LifecycleDeps,
  caller: Identity,
  targetId: string,
  facts: RequestFacts | null = null,
): Promise<RotationRecord> {
  await requirePermission(
    deps,
    caller,
    { action: "rotate", resource: { type: "Target", id: targetId }, facts },
    "admin-secret rotation",
  );
  return rotate(deps, targetId, actorOf(caller));
}

/** The broker rotates on its own account, with no caller to check; `component` names who in the audit trail. */
export function rotateTargetSecretAsSystem(
  deps: LifecycleDeps,
  component: "schedule" | "break-glass",
  targetId: string,
): Promise<RotationRecord> {
  return rotate(deps, targetId, systemActor(component));
}

async function rotate(deps: LifecycleDeps, targetId: string, actor: Actor): Promise<RotationRecord> {
  const connector = deps.catalog.connector(targetId);
  if (!connector) throw new EphemeraError("not_found", `no target '${targetId}' is configured`);
  let record: RotationRecord;
  try {
    const result = await connector.rotateAdminSecret();
    record = { rotatedAt: deps.clock.now(), rotated: result.rotated, detail: result.detail };
  } catch (error) {
    const reason = describeError(error);
    await commit(deps, {
      writes: [],
      audit: [
        draft("target.rotation_run", deps.clock.now(), actor, {}, { target: targetId, error: reason }, "failure"),
      ],
    });
    throw new EphemeraError("downstream_unavailable", `target '${targetId}' could not rotate its admin secret`, {
      detail: reason,
      cause: error,
    });
  }
  await commit(deps, {
    writes: record.rotated ? [rotations.put(targetId, record)] : [],
    audit: [
      draft(
        "target.rotation_run",
        record.rotatedAt,
        actor,
        {},
        { target: targetId, rotated: record.rotated, detail: record.detail },
      ),
    ],
  });
  return record;
}

/** When the target's admin secret was last rotated by the broker, or null when never. */
export async function lastRotation(deps: LifecycleDeps, targetId: string): Promise<RotationRecord | null> {
  const row = await rotations.in(deps.store).get(targetId);
  return row ? row.value : null;
}
