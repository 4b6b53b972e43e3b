// The targets as the lifecycle sees them: one connector per configured target, the entitlements by name, and the
// catalog that finds an identity, an entitlement or a connector.
import type { Config } from "../config/index.js";
import type { Connector, EntitlementSpec } from "../connectors/index.js";
import { createConnector } from "../connectors/index.js";
import type { IdentityRegistry } from "../identity/index.js";
import type { Catalog } from "../lifecycle/index.js";
import type { TokenAuthority } from "../tokens/index.js";
import type { StartContext } from "./start-context.js";

/** Every configured entitlement by its name (`orders-db/read`). */
export function entitlementsByName(config: Config): Map<string, EntitlementSpec> {
  const entitlements = new Map<string, EntitlementSpec>();
  for (const target of config.targets) for (const e of target.entitlements) entitlements.set(e.name, e);
  return entitlements;
}

/**
 * Builds each target's connector into `connectors` and has it check the target's entitlements. The map fills as they
 * are built, so a start that fails part way closes those already built.
 */
export async function buildConnectors(
  ctx: StartContext,
  tokenAuthority: TokenAuthority,
  connectors: Map<string, Connector>,
): Promise<void> {
  const { store, clock, sealer, logger } = ctx;
  for (const target of ctx.config.targets) {
    const connector = await createConnector(target, { store, clock, sealer, logger, tokenAuthority });
    for (const entitlement of target.entitlements) connector.validateEntitlement(entitlement);
    connectors.set(target.id, connector);
  }
}

/** Closes every connector; one that fails to close does not keep the others open. */
export async function closeConnectors(connectors: ReadonlyMap<string, Connector>): Promise<void> {
  for (const connector of connectors.values()) await connector.close().catch(() => undefined);
}

/** Identities come from the registry (status and sightings shared by replicas), the rest from the config. */
export function buildCatalog(
  identities: IdentityRegistry,
  entitlements: ReadonlyMap<string, EntitlementSpec>,
  connectors: ReadonlyMap<string, Connector>,
): Catalog {
  return {
    identity: (id) => identities.get(id),
    entitlement: (name) => entitlements.get(name),
    connector: (id) => connectors.get(id),
  };
}
