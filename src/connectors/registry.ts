// The catalogue of connector types, by name. Adding a target type means adding one line here.

import type { Connector } from "./connector.js";
import type { ConnectorFactory, FactoryContext, TargetSpec } from "./context.js";
import { withDeadline } from "./deadline.js";

/**
 * Each type's module (and its driver: pg, mysql2, ioredis, amqplib, @peculiar/x509) loads only when a target of that
 * type is configured, so a broker starts without paying for the drivers it does not use.
 */
export const CONNECTOR_TYPES: Readonly<Record<string, () => Promise<ConnectorFactory>>> = {
  token: async () => (await import("./token/index.js")).createTokenConnector,
  x509: async () => (await import("./x509/index.js")).createX509Connector,
  postgres: async () => (await import("./postgres/index.js")).createPostgresConnector,
  "postgres-elevation": async () => (await import("./postgres/index.js")).createPostgresElevationConnector,
  mariadb: async () => (await import("./mariadb/index.js")).createMariadbConnector,
  redis: async () => (await import("./redis/index.js")).createRedisConnector,
  rabbitmq: async () => (await import("./rabbitmq/index.js")).createRabbitmqConnector,
  http: async () => (await import("./http/index.js")).createHttpConnector,
};

export async function createConnector(target: TargetSpec, context: FactoryContext): Promise<Connector> {
  const load = CONNECTOR_TYPES[target.type];
  if (!load) {
    throw new Error(
      `targets.${target.id}.type: unknown connector type '${target.type}' (known: ${Object.keys(CONNECTOR_TYPES).join(", ")})`,
    );
  }
  const factory = await load();
  return withDeadline(factory(target, context));
}
