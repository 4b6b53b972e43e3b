// Approval settings with their defaults, for lifecycle code run without a config (tests, library use).
import type { ApprovalSettings, LifecycleDeps } from "../shared/deps.js";

export const DEFAULT_APPROVALS: ApprovalSettings = {
  pendingTimeoutMs: 3_600_000,
  collectTimeoutMs: 3_600_000,
  breakGlassMaxSeconds: 3600,
  reviewWithinMs: 86_400_000,
};

export function approvalSettings(deps: LifecycleDeps): ApprovalSettings {
  return deps.settings.approvals ?? DEFAULT_APPROVALS;
}
