// The catalogue of connector types, by name. Adding a target type means adding one line here.

import type { Store } from "../storage/store.js";
import type { Clock } from "../support/clock.js";
import type { Logger } from "../support/logger.js";
import type { Sealer } from "../support/sealer.js";
import type { Connector } from "./connector.js";
import { withDeadline } from "./deadline.js";
import { createHttpConnector } from "./http/index.js";
import { createMariadbConnector } from "./mariadb/index.js";
import { createPostgresConnector, createPostgresElevationConnector } from "./postgres/index.js";
import { createRabbitmqConnector } from "./rabbitmq/index.js";
import { createRedisConnector } from "./redis/index.js";
import type { TokenAuthority } from "./token/index.js";
import { createTokenConnector } from "./token/index.js";
import { createX509Connector } from "./x509/index.js";

/** What every connector may use from the broker. */
export interface ConnectorContext {
  readonly store: Store;
  readonly clock: Clock;
  readonly sealer: Sealer;
  readonly logger: Logger;
  readonly tokenAuthority: TokenAuthority;
}

/** A target as configured: its type, its id and its connector-specific settings (validated by the connector). */
export interface TargetSpec {
  readonly id: string;
  readonly type: string;
  readonly settings: Readonly<Record<string, unknown>>;
}

export type ConnectorFactory = (target: TargetSpec, context: ConnectorContext) => Connector;

export const CONNECTOR_TYPES: Readonly<Record<string, ConnectorFactory>> = {
  token: createTokenConnector,
  x509: createX509Connector,
  postgres: createPostgresConnector,
  "postgres-elevation": createPostgresElevationConnector,
  mariadb: createMariadbConnector,
  redis: createRedisConnector,
  rabbitmq: createRabbitmqConnector,
  http: createHttpConnector,
};

export function createConnector(target: TargetSpec, context: ConnectorContext): Connector {
  const factory = CONNECTOR_TYPES[target.type];
  if (!factory) {
    throw new Error(
      `targets.${target.id}.type: unknown connector type '${target.type}' (known: ${Object.keys(CONNECTOR_TYPES).join(", ")})`,
    );
  }
  return withDeadline(factory(target, context));
}
