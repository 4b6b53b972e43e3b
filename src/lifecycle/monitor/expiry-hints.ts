// Tells the expiry scheduler when a grant becomes due, whoever issued or renewed it (an HTTP route or a library
// caller): an observer wrapped around the one the lifecycle already reports to.
import type { Millis } from "../../domain/index.js";
import type { LifecycleObserver } from "../shared/deps.js";

/** `observer`, plus a hint to the scheduler each time a grant is issued or renewed (its new `expiresAt`). */
export function withExpiryHints(observer: LifecycleObserver, hint: (dueAt: Millis) => void): LifecycleObserver {
  return {
    decision: (outcome) => observer.decision(outcome),
    issued: (grant) => {
      observer.issued(grant);
      hint(grant.expiresAt);
    },
    renewed: (grant) => {
      observer.renewed(grant);
      hint(grant.expiresAt);
    },
    removalFailed: (grant) => observer.removalFailed(grant),
    verified: (grant, overrunMs) => observer.verified(grant, overrunMs),
    approval: (event) => observer.approval?.(event),
    approvalLatency: (outcome, ms) => observer.approvalLatency?.(outcome, ms),
  };
}
