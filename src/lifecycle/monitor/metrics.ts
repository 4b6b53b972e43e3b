// Prometheus metrics of the lifecycle. Labels are bounded (target, entitlement, outcome, state) and never carry secrets.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Grant } from "../../domain/index.js";
import type { Store } from "../../storage/index.js";
import type { ApprovalEvent, LifecycleObserver } from "../shared/deps.js";
import type { DiscoveryReport, ReconcileObserver } from "./reconcile.js";

export class LifecycleMetrics implements LifecycleObserver, ReconcileObserver {
  readonly registry = new Registry();
  readonly #decisions: Counter<"outcome">;
  readonly #issued: Counter<"target" | "entitlement">;
  readonly #renewed: Counter<"target">;
  readonly #removalFailures: Counter<"target">;
  readonly #overrun: Histogram<"target">;
  readonly #privilege: Histogram<"target">;
  readonly #survived: Counter<"target">;
  readonly #standing: Gauge<"target" | "admin">;
  readonly #unreachable: Gauge<"target">;
  readonly #approvals: Counter<"event">;
  readonly #reloads: Counter<"outcome">;
  readonly #notifications: Counter<"sink" | "outcome">;
  readonly #unused: Counter<"target" | "entitlement">;
  readonly #approvalLatency: Histogram<"outcome">;

  constructor(store: Store, storeStats?: () => { commits: number; changeSets: number }, now: () => number = Date.now) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "ephemera_" });
    this.#decisions = new Counter({
      name: "ephemera_decisions_total",
      help: "Access requests decided, by outcome (allow, deny, rejected for bad input).",
      labelNames: ["outcome"],
      registers,
    });
    this.#issued = new Counter({
      name: "ephemera_grants_issued_total",
      help: "Credentials issued.",
      labelNames: ["target", "entitlement"],
      registers,
    });
    this.#renewed = new Counter({
      name: "ephemera_grants_renewed_total",
      help: "Renewals.",
      labelNames: ["target"],
      registers,
    });
    this.#removalFailures = new Counter({
      name: "ephemera_removal_failures_total",
      help: "Failed removal attempts (revoke or verification); each is retried with backoff.",
      labelNames: ["target"],
      registers,
    });
    this.#overrun = new Histogram({
      name: "ephemera_removal_overrun_seconds",
      help: "From a grant's expiry to its verified removal, for grants that ended by expiry.",
      labelNames: ["target"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    });
    this.#privilege = new Histogram({
      name: "ephemera_privilege_duration_seconds",
      help: "From issue to verified removal: how long access really existed.",
      labelNames: ["target"],
      buckets: [1, 10, 60, 300, 900, 1800, 3600, 14_400, 86_400],
      registers,
    });
    this.#survived = new Counter({
      name: "ephemera_accounts_survived_total",
      help: "ALARM when it grows: broker-made accounts found with no live grant (survived their window) and removed by the reconciler.",
      labelNames: ["target"],
      registers,
    });
    this.#standing = new Gauge({
      name: "ephemera_standing_accounts",
      help: "Accounts in each target the broker does not manage (standing privilege), at the last reconciliation.",
      labelNames: ["target", "admin"],
      registers,
    });
    this.#unreachable = new Gauge({
      name: "ephemera_reconcile_target_unreachable",
      help: "1 when the last reconciliation could not list the target's accounts.",
      labelNames: ["target"],
      registers,
    });
    new Gauge({
      name: "ephemera_grants_active",
      help: "Active grants, by target and entitlement.",
      labelNames: ["target", "entitlement"],
      registers,
      async collect() {
        this.reset();
        for (const row of await store.countActiveGrants()) {
          this.set({ target: row.targetId, entitlement: row.entitlement }, row.count);
        }
      },
    });
    new Gauge({
      name: "ephemera_grants",
      help: "Grants by state.",
      labelNames: ["state"],
      registers,
      async collect() {
        this.reset();
        for (const [state, count] of await store.countGrantsByState()) this.set({ state }, count);
      },
    });
    if (storeStats) {
      new Counter({
        name: "ephemera_store_commits_total",
        help: "Durable store transactions; change sets ÷ commits is how many writes share one fsync.",
        registers,
        collect() {
          this.reset();
          this.inc(storeStats().commits);
        },
      });
      new Counter({
        name: "ephemera_store_change_sets_total",
        help: "Change sets (a state change and its audit events) committed.",
        registers,
        collect() {
          this.reset();
          this.inc(storeStats().changeSets);
        },
      });
    }
    this.#approvals = new Counter({
      name: "ephemera_approval_events_total",
      help: "Approval-stage events: pending, approval_recorded, approved, denied, cancelled, timed_out, collected, break_glass, review_recorded, review_overdue, policy_revoked.",
      labelNames: ["event"],
      registers,
    });
    this.#reloads = new Counter({
      name: "ephemera_policy_reloads_total",
      help: "Policy reloads by outcome (applied, unchanged, failed); ALARM on failed: the previous policies stay in force.",
      labelNames: ["outcome"],
      registers,
    });
    this.#notifications = new Counter({
      name: "ephemera_notifications_total",
      help: "Webhook delivery attempts by webhook and outcome (delivered, retry, dead); ALARM on dead.",
      labelNames: ["sink", "outcome"],
      registers,
    });
    new Gauge({
      name: "ephemera_break_glass_reviews_overdue",
      help: "ALARM when above zero: break-glass uses whose review was not recorded in time.",
      registers,
      async collect() {
        this.set(await store.countOverdueReviews(now()));
      },
    });
    new Gauge({
      name: "ephemera_notifications_dead",
      help: "ALARM when above zero: notifications kept as dead letters after their last failed attempt (up to 10,000 counted).",
      registers,
      async collect() {
        this.set((await store.listNotifications({ states: ["dead"], limit: 10_000 })).length);
      },
    });
    this.#unused = new Counter({
      name: "ephemera_grants_unused_total",
      help: "Grants whose removal was verified and that the target never saw in use (over-provisioned access).",
      labelNames: ["target", "entitlement"],
      registers,
    });
    this.#approvalLatency = new Histogram({
      name: "ephemera_approval_latency_seconds",
      help: "From an access request to its approval (quorum met) or denial by approvers.",
      labelNames: ["outcome"],
      buckets: [1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 14_400],
      registers,
    });
    new Gauge({
      name: "ephemera_grants_revoke_failed",
      help: "ALARM when above zero: grants whose removal has failed and is being retried.",
      registers,
      async collect() {
        this.set((await store.countGrantsByState()).get("revoke_failed") ?? 0);
      },
    });
  }

  decision(outcome: "allow" | "deny" | "rejected"): void {
    this.#decisions.inc({ outcome });
  }
  issued(grant: Grant): void {
    this.#issued.inc({ target: grant.targetId, entitlement: grant.entitlement });
  }
  renewed(grant: Grant): void {
    this.#renewed.inc({ target: grant.targetId });
  }
  removalFailed(grant: Grant): void {
    this.#removalFailures.inc({ target: grant.targetId });
  }
  reconciled(report: DiscoveryReport): void {
    for (const t of report.targets) {
      if (t.removed.length > 0) this.#survived.inc({ target: t.target }, t.removed.length);
      this.#unreachable.set({ target: t.target }, t.ok ? 0 : 1);
      if (!t.ok) continue;
      const admins = t.standing.filter((a) => a.admin).length;
      this.#standing.set({ target: t.target, admin: "true" }, admins);
      this.#standing.set({ target: t.target, admin: "false" }, t.standing.length - admins);
    }
  }
  approval(event: ApprovalEvent): void {
    this.#approvals.inc({ event });
  }
  policyReload(outcome: "applied" | "unchanged" | "failed"): void {
    this.#reloads.inc({ outcome });
  }
  notification(outcome: "delivered" | "retry" | "dead", sink: string): void {
    this.#notifications.inc({ sink, outcome });
  }
  approvalLatency(outcome: "approved" | "denied", ms: number): void {
    this.#approvalLatency.observe({ outcome }, Math.max(0, ms) / 1000);
  }
  verified(grant: Grant, overrunMs: number): void {
    if (grant.receipt?.unused === true) this.#unused.inc({ target: grant.targetId, entitlement: grant.entitlement });
    if (grant.endReason === "expired") this.#overrun.observe({ target: grant.targetId }, Math.max(0, overrunMs) / 1000);
    if (grant.issuedAt !== null && grant.verifiedAt !== null) {
      this.#privilege.observe({ target: grant.targetId }, (grant.verifiedAt - grant.issuedAt) / 1000);
    }
  }
}
