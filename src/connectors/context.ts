// What a connector is built from: its target as configured and the broker services it may use.
import type { GrantStore, Leases, StatePort } from "../storage/index.js";
import type { Clock, Logger, Sealer } from "../support/index.js";
import type { TokenAuthority } from "../tokens/index.js";
import type { Connector } from "./connector.js";

/** A target as configured: its type, its id and its connector-specific settings (validated by the connector). */
export interface TargetSpec {
  readonly id: string;
  readonly type: string;
  readonly settings: Readonly<Record<string, unknown>>;
}

/**
 * The part of the store a connector may use: its own state entries (written through change sets), leases for work one
 * replica does at a time (admin-secret rotation), and its target's grants (who else holds a shared role).
 */
export type ConnectorStore = StatePort & Leases & Pick<GrantStore, "listGrants">;

/** What every connector may use from the broker. */
export interface ConnectorContext {
  readonly store: ConnectorStore;
  readonly clock: Clock;
  readonly sealer: Sealer;
  readonly logger: Logger;
}

/** What the catalogue hands every factory: the shared context and the broker's token authority, which token targets sign with. */
export interface FactoryContext extends ConnectorContext {
  readonly tokenAuthority: TokenAuthority;
}

export type ConnectorFactory = (target: TargetSpec, context: FactoryContext) => Connector;
