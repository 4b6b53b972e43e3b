// Reconciliation and discovery: every target's accounts against the live grants. Broker-made accounts no live grant
// holds are removed (they outlived their window); accounts the broker does not manage are reported as standing privilege.
import type { AccountInfo, Connector } from "../../connectors/index.js";
import type { GrantState, Identity, Millis, RequestFacts } from "../../domain/index.js";
import { StateNamespace } from "../../storage/index.js";
import { describeError, EphemeraError } from "../../support/index.js";
import { draft, systemActor } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { BROKER, requireDiscoverAll, requirePermission } from "../shared/require-permission.js";

/** Grants that hold, or may still hold, their account downstream: the reconciler never touches these. */
const HOLDING: readonly GrantState[] = ["issuing", "active", "revoking", "revoke_failed", "revoked"];
const PAGE = 1000;

export interface StandingAccount {
  readonly handle: string;
  readonly privileges: readonly string[];
  readonly admin: boolean;
  /** The account the broker itself logs in as. */
  readonly broker: boolean;
}

export interface TargetReport {
  readonly target: string;
  readonly type: string;
  /** False when the target could not be listed; `error` says why. */
  readonly ok: boolean;
  readonly error: string | null;
  readonly accounts: number;
  /** Broker-made accounts a live grant holds. */
  readonly held: number;
  /** Broker-made accounts no live grant held: removed by this run ("survived past window"). */
  readonly removed: readonly string[];
  readonly removeFailed: readonly { readonly handle: string; readonly error: string }[];
  /** Accounts the broker does not manage, with what they may do. */
  readonly standing: readonly StandingAccount[];
}

export interface DiscoveryReport {
  readonly generatedAt: Millis;
  readonly targets: readonly TargetReport[];
  readonly totals: {
    readonly accounts: number;
    readonly held: number;
    readonly removed: number;
    readonly removeFailed: number;
    readonly standing: number;
    readonly standingAdmin: number;
    readonly unreachableTargets: number;
  };
}

export interface ReconcileObserver {
  reconciled(report: DiscoveryReport): void;
}

/** The last report, under one key: each run replaces it. */
const discovery = new StateNamespace<DiscoveryReport>("discovery");
const LATEST = "latest";

/**
 * Handles of every grant that holds or may hold its account, over all targets: two targets can see the same accounts
 * (two databases of one PostgreSQL cluster share its roles), so an account another target's grant holds is held.
 */
async function heldHandles(deps: LifecycleDeps): Promise<Set<string>> {
  const handles = new Set<string>();
  let after: string | undefined;
  for (;;) {
    const page = await deps.store.listGrants({
      states: HOLDING,
      limit: PAGE,
      ...(after === undefined ? {} : { after }),
    });
    for (const grant of page) handles.add(grant.handle);
    if (page.length < PAGE) return handles;
    after = page.at(-1)?.id;
  }
}

type Listing = { ok: true; accounts: readonly AccountInfo[] } | { ok: false; error: string };

async function listTarget(connector: Connector): Promise<Listing> {
  try {
    return { ok: true, accounts: await connector.listAccounts() };
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
}

async function reconcileTarget(
  deps: LifecycleDeps,
  targetId: string,
  connector: Connector,
  listing: Listing,
  held: ReadonlySet<string>,
): Promise<TargetReport> {
  const base = { target: targetId, type: connector.type };
  if (!listing.ok) {
    return {
      ...base,
      ok: false,
      error: listing.error,
      accounts: 0,
      held: 0,
      removed: [],
      removeFailed: [],
      standing: [],
    };
  }
  const accounts = listing.accounts;
  const removed: string[] = [];
  const removeFailed: { handle: string; error: string }[] = [];
  let heldCount = 0;
  for (const account of accounts.filter((a) => a.managed && !a.broker)) {
    if (held.has(account.handle)) {
      heldCount++;
      continue;
    }
    try {
      if (await connector.removeAccount(account.handle)) {
        removed.push(account.handle);
        const now = deps.clock.now();
        await commit(deps, {
          writes: [],
          audit: [
            draft(
              "reconcile.account_removed",
              now,
              systemActor("reconciler"),
              {},
              { target: targetId, handle: account.handle, privileges: account.privileges },
            ),
          ],
        });
      }
    } catch (error) {
      removeFailed.push({ handle: account.handle, error: describeError(error) });
    }
  }
  const standing = accounts
    .filter((a) => !a.managed || a.broker)
    .map((a) => ({ handle: a.handle, privileges: a.privileges, admin: a.admin, broker: a.broker ?? false }));
  return {
    ...base,
    ok: true,
    error: null,
    accounts: accounts.length,
    held: heldCount,
    removed,
    removeFailed,
    standing,
  };
}

/** Runs one reconciliation over every configured target, records the report, and returns it. */
export async function reconcileTargets(
  deps: LifecycleDeps,
  connectors: ReadonlyMap<string, Connector>,
  observer?: ReconcileObserver,
): Promise<DiscoveryReport> {
  // Accounts first, grants second: an account listed was made after its grant was committed (`issuing`), so its grant
  // is in the second read unless it finished in between, and then the account is already gone.
  const listings = new Map<string, Listing>();
  for (const [targetId, connector] of connectors) listings.set(targetId, await listTarget(connector));
  const held = await heldHandles(deps);
  const targets: TargetReport[] = [];
  for (const [targetId, connector] of connectors) {
    const listing = listings.get(targetId) ?? { ok: false, error: "not listed" };
    targets.push(await reconcileTarget(deps, targetId, connector, listing, held));
  }
  const sum = (f: (t: TargetReport) => number) => targets.reduce((n, t) => n + f(t), 0);
  const report: DiscoveryReport = {
    generatedAt: deps.clock.now(),
    targets,
    totals: {
      accounts: sum((t) => t.accounts),
      held: sum((t) => t.held),
      removed: sum((t) => t.removed.length),
      removeFailed: sum((t) => t.removeFailed.length),
      standing: sum((t) => t.standing.length),
      standingAdmin: sum((t) => t.standing.filter((a) => a.admin).length),
      unreachableTargets: targets.filter((t) => !t.ok).length,
    },
  };
  await commit(deps, {
    writes: [discovery.put(LATEST, report)],
    audit: [
      draft(
        "reconcile.completed",
        report.generatedAt,
        systemActor("reconciler"),
        {},
        report.totals,
        report.totals.unreachableTargets + report.totals.removeFailed > 0 ? "failure" : "success",
      ),
    ],
  });
  observer?.reconciled(report);
  return report;
}

/** The last report any broker sharing this store recorded, or null before the first run. */
export async function latestDiscovery(deps: LifecycleDeps): Promise<DiscoveryReport | null> {
  const row = await discovery.in(deps.store).get(LATEST);
  return row ? row.value : null;
}

/**
 * The last report, for whom policy allows `discover` on every target in it; 404 before the first run, told only to whom
 * policy allows `admin`.
 */
export async function readDiscovery(
  deps: LifecycleDeps,
  caller: Identity,
  facts: RequestFacts | null = null,
): Promise<DiscoveryReport> {
  const latest = await latestDiscovery(deps);
  if (latest)
    await requireDiscoverAll(
      deps,
      caller,
      latest.targets.map((t) => t.target),
      "discovery",
      facts,
    );
  else await requirePermission(deps, caller, { action: "admin", resource: BROKER, facts }, "discovery");
  if (!latest) throw new EphemeraError("not_found", "no reconciliation has run yet; POST /v1/discovery runs one");
  return latest;
}
