// The target list admins see: each configured target, whether it answers now, and when the broker last rotated its
// admin secret.
import type { Connector } from "../../connectors/index.js";
import type { Identity, Millis, RequestFacts } from "../../domain/index.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { BROKER, requirePermission } from "../shared/require-permission.js";
import { lastRotation } from "./rotate-target-secret.js";

export interface TargetStatus {
  readonly id: string;
  readonly type: string;
  /** False when the health check failed or threw. */
  readonly healthy: boolean;
  /** Null when the broker never rotated it. */
  readonly lastRotation: Millis | null;
}

/** Every configured target, in configuration order, for whom policy allows `admin`. */
export async function listTargets(
  deps: LifecycleDeps,
  caller: Identity,
  connectors: ReadonlyMap<string, Connector>,
  facts: RequestFacts | null = null,
): Promise<TargetStatus[]> {
  await requirePermission(deps, caller, { action: "admin", resource: BROKER, facts }, "the target list");
  const targets: TargetStatus[] = [];
  for (const [id, connector] of connectors) {
    const last = await lastRotation(deps, id);
    targets.push({
      id,
      type: connector.type,
      healthy: await connector.healthy().catch(() => false),
      lastRotation: last ? last.rotatedAt : null,
    });
  }
  return targets;
}
