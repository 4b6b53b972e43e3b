// Reading the identity inventory: admins only, checked before the filter is, so a non-admin learns nothing from it.
import type { Identity, IdentityKind, IdentityStatus, RequestFacts } from "../../domain/index.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { refuse } from "../shared/refuse.js";
import { BROKER, requirePermission } from "../shared/require-permission.js";
import { type InventoryEntry, inventoryEntry, listInventory } from "./inventory.js";
import { loadIdentity } from "./load-identity.js";

const STATUSES: readonly IdentityStatus[] = ["active", "dormant", "offboarded"];
const KINDS: readonly IdentityKind[] = ["service_account", "workload", "pipeline", "agent", "human"];

/** A page of the inventory as asked for; statuses and kinds are the caller's words, checked here. */
export interface InventoryAsk {
  readonly statuses: readonly string[];
  readonly kinds: readonly string[];
  readonly owner?: string;
  readonly unowned?: boolean;
  readonly after?: string;
  readonly limit: number;
}

/** Refuses (400, audited) a status or kind the broker does not know, naming the query parameter. */
async function known<T extends string>(
  deps: LifecycleDeps,
  caller: Identity,
  field: "status" | "kind",
  values: readonly string[],
  allowed: readonly T[],
): Promise<T[]> {
  const bad = values.find((v) => !allowed.includes(v as T));
  if (bad === undefined) return values as T[];
  throw await refuse(deps, caller, {
    auditCode: "request.rejected",
    errorCode: "invalid_request",
    message: `querystring.${field}: unknown ${field} '${bad}' (one of ${allowed.join(", ")})`,
    extensions: { field: `querystring.${field}` },
  });
}

/** A page of identities in id order, for whom policy allows `admin`; `next` is the id to page after (null at the end).
 */
export async function listIdentities(
  deps: LifecycleDeps,
  caller: Identity,
  ask: InventoryAsk,
  facts: RequestFacts | null = null,
): Promise<{ entries: InventoryEntry[]; next: string | null }> {
  await requirePermission(deps, caller, { action: "admin", resource: BROKER, facts }, "the identity inventory");
  const statuses = await known(deps, caller, "status", ask.statuses, STATUSES);
  const kinds = await known(deps, caller, "kind", ask.kinds, KINDS);
  return listInventory(deps, {
    limit: ask.limit,
    ...(statuses.length > 0 ? { statuses } : {}),
    ...(kinds.length > 0 ? { kinds } : {}),
    ...(ask.owner !== undefined ? { owner: ask.owner } : {}),
    ...(ask.unowned !== undefined ? { unowned: ask.unowned } : {}),
    ...(ask.after !== undefined ? { after: ask.after } : {}),
  });
}

/** One identity with its active grants, for whom policy allows `admin`; an unknown id is a 404. */
export async function readIdentity(
  deps: LifecycleDeps,
  caller: Identity,
  identityId: string,
  facts: RequestFacts | null = null,
): Promise<InventoryEntry> {
  await requirePermission(deps, caller, { action: "admin", resource: BROKER, facts }, "the identity inventory");
  return inventoryEntry(deps, await loadIdentity(deps, caller, identityId));
}
