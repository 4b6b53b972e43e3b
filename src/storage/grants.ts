// The grants port: reads of grants, the due index the scheduler claims from, usage, the report and retention.
import type { Grant, GrantState, Millis } from "../domain/index.js";

export interface GrantFilter {
  readonly states?: readonly GrantState[];
  readonly identityId?: string;
  readonly targetId?: string;
  /** Page after this grant id (ids sort by creation). */
  readonly after?: string;
  readonly limit: number;
}

/** What `claimDue` takes: grants due by `now`, at most `limit`, each leased for `leaseMs`. */
export interface ClaimRequest {
  readonly now: Millis;
  readonly limit: number;
  readonly leaseMs: number;
}

/** The target showed a grant's credential in use at `at` (a session, a connection, an introspection). */
export interface GrantUsage {
  readonly grantId: string;
  readonly at: Millis;
}

/** Grants issued in `[from, to)`; `now` decides overruns of grants whose removal is not verified yet. */
export interface ReportRange {
  readonly from: Millis;
  readonly to: Millis;
  readonly now: Millis;
}

/** Aggregates over the grants issued in a range, computed in the store (never by loading every grant). */
export interface GrantReport {
  readonly issued: number;
  /** Of those, how many have ended (their removal is due). */
  readonly ended: number;
  /** Of those, how many have their removal verified. */
  readonly verifiedRemoval: number;
  /** Access that outlived its expiry by more than 2 s: verified (or, unverified, still present at `now`) after it. */
  readonly overrunsOver2s: number;
  /** Grants whose receipt says `unused: true`: the target records every use and showed none. */
  readonly unused: number;
  /** Grants with a receipt that cannot say whether they were used (`unused: null`): use could have gone unseen. */
  readonly usageNotObservable: number;
  /** Renewals of those grants, summed. */
  readonly renewals: number;
  /** Issue → verified removal, nearest-rank percentiles over verified grants; null when none is verified. */
  readonly privilegeMs: { readonly median: number | null; readonly p99: number | null };
}

export interface GrantStore {
  getGrant(id: string): Promise<Grant | null>;
  listGrants(filter: GrantFilter): Promise<readonly Grant[]>;
  /** Grants whose `dueAt` has passed, earliest first, through the due index: cost does not grow with the number of live grants. */
  dueGrants(now: Millis, limit: number): Promise<readonly Grant[]>;
  /**
   * Claims due grants for this worker, earliest first: each returned grant has `dueAt = now + leaseMs` and its version
   * moved up by one, both committed before it is returned. The version is the fencing token: every later write of the
   * grant names it, so if the lease lapses and another replica claims the grant, this worker's next write fails with
   * ConflictError. Rows another replica is claiming at the same moment are skipped, not waited for.
   */
  claimDue(request: ClaimRequest): Promise<readonly Grant[]>;
  /**
   * After a restart on a store no other process uses: every active grant that a dead process had claimed at its expiry
   * (its `dueAt` moved to the end of that claim) is due at its expiry again, with its version moved (fencing). Without
   * this, a grant claimed just before a crash would outlive its expiry by the whole claim lease. Returns how many.
   */
  releaseClaims(): Promise<number>;
  /**
   * Deletes history past its retention: grants `verified` before `endedBefore`, then requests in a final state last
   * changed before it that no grant refers to; at most `limit` of each per call. Ids sort by creation, so only rows
   * created before `endedBefore` are looked at. Audit events are never deleted: they keep every receipt.
   */
  pruneHistory(request: { readonly endedBefore: Millis; readonly limit: number }): Promise<{
    grants: number;
    requests: number;
  }>;
  /** The earliest `dueAt` of any grant, or null when nothing is scheduled. */
  nextDueAt(): Promise<Millis | null>;
  grantsInStates(states: readonly GrantState[], limit: number): Promise<readonly Grant[]>;
  countGrantsByState(): Promise<ReadonlyMap<GrantState, number>>;
  /** Active grants counted by target and entitlement, for metrics. */
  countActiveGrants(): Promise<readonly { targetId: string; entitlement: string; count: number }[]>;

  /**
   * Records usage: `firstUsedAt` is the earliest sighting, `lastUsedAt` the latest, whatever order they arrive in. Not audited and not
   * versioned, like identity sightings: usage is telemetry and must not conflict with the grant's own state changes.
   */
  markGrantsUsed(usage: readonly GrantUsage[]): Promise<void>;
  /** The report's grant figures for a time range, in SQL through the `grants_issued` index. */
  grantReport(range: ReportRange): Promise<GrantReport>;
}
