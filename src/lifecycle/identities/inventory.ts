// The identity inventory: who the broker knows, whether someone answers for each one, and what access each holds now.
import type { IdentityKind, IdentityRecord, IdentityStatus } from "../../domain/index.js";
import type { LifecycleDeps } from "../shared/deps.js";

/** A non-human identity with no owner: nobody answers for it (OWASP NHI). Humans answer for themselves. */
export function isUnowned(identity: Pick<IdentityRecord, "kind" | "owner">): boolean {
  return identity.kind !== "human" && (identity.owner === null || identity.owner.trim() === "");
}

/** One identity with the ids of its active grants. */
export interface InventoryEntry {
  readonly identity: IdentityRecord;
  readonly unowned: boolean;
  readonly activeGrantIds: readonly string[];
}

export interface InventoryFilter {
  readonly statuses?: readonly IdentityStatus[];
  readonly kinds?: readonly IdentityKind[];
  readonly owner?: string;
  /** Only non-human identities without an owner (true), or only the others (false). */
  readonly unowned?: boolean;
  readonly after?: string;
  readonly limit: number;
}

/** How many active grant ids an entry lists; the count is exact up to this many. */
const GRANT_IDS_LIMIT = 1000;

async function activeGrantIds(deps: Pick<LifecycleDeps, "store">, identityId: string): Promise<string[]> {
  const grants = await deps.store.listGrants({ identityId, states: ["active"], limit: GRANT_IDS_LIMIT });
  return grants.map((g) => g.id);
}

export async function inventoryEntry(
  deps: Pick<LifecycleDeps, "store">,
  identity: IdentityRecord,
): Promise<InventoryEntry> {
  return { identity, unowned: isUnowned(identity), activeGrantIds: await activeGrantIds(deps, identity.id) };
}

/**
 * A page of identities in id order. `unowned` is not a store filter, so pages of the store are read until `limit`
 * entries match or the store has no more; `next` is the id to page after (null at the end).
 */
export async function listInventory(
  deps: Pick<LifecycleDeps, "store">,
  filter: InventoryFilter,
): Promise<{ entries: InventoryEntry[]; next: string | null }> {
  const entries: InventoryEntry[] = [];
  let after = filter.after;
  for (;;) {
    const page = await deps.store.listIdentities({
      limit: filter.limit,
      ...(filter.statuses ? { statuses: filter.statuses } : {}),
      ...(filter.kinds ? { kinds: filter.kinds } : {}),
      ...(filter.owner !== undefined ? { owner: filter.owner } : {}),
      ...(after !== undefined ? { after } : {}),
    });
    for (const identity of page) {
      after = identity.id;
      if (filter.unowned !== undefined && isUnowned(identity) !== filter.unowned) continue;
      entries.push(await inventoryEntry(deps, identity));
      if (entries.length === filter.limit) {
        return { entries, next: identity.id };
      }
    }
    if (page.length < filter.limit) return { entries, next: null };
  }
}
