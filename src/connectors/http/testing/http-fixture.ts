import type { Grant, GrantState, Identity } from "../../../domain/types.js";
import type { Store } from "../../../storage/index.js";
import type { Logger } from "../../../support/logger.js";
import type { Connector, EntitlementSpec } from "../../connector.js";
import type { ConnectorContext } from "../../context.js";
import {
  entitlement,
  grantFor,
  moveGrant,
  sqliteConnectorContext,
  storeGrant,
  testIdentity,
  uniqueName,
} from "../../testing/target-fixture.js";
import { createHttpConnector } from "../index.js";
import { TicketingService } from "../testing-service.js";

export interface HttpFixture {
  readonly service: TicketingService;
  readonly store: Store;
  readonly context: ConnectorContext;
  /** Target settings for the service at `baseUrl` (default the service itself), with `overrides` merged on top. */
  settings(overrides?: Record<string, unknown>, baseUrl?: string): Record<string, unknown>;
  connector(settings?: Record<string, unknown>, targetId?: string): Connector;
  /** A new user in the service and an identity whose subject attribute names it. */
  user(roles?: readonly string[]): { subject: string; identity: Identity };
  entitlement(connector: Connector, role: string): EntitlementSpec;
  grant(connector: Connector, spec: EntitlementSpec, identity: Identity): Grant;
  /** Commits a grant row as the lifecycle would (with its audit event). */
  insert(grant: Grant): Promise<Grant>;
  /** Moves a stored grant to `state`. */
  setState(grant: Grant, state: GrantState): Promise<Grant>;
  close(): Promise<void>;
}

export async function httpFixture(options: { logger?: Logger } = {}): Promise<HttpFixture> {
  const service = await TicketingService.start();
  service.addUser("ephemera-bot", ["admin"]);
  const context = await sqliteConnectorContext(options.logger ? { logger: options.logger } : {});
  const store = context.store;
  const made: Connector[] = [];

  const settings = (overrides: Record<string, unknown> = {}, baseUrl = service.url): Record<string, unknown> => ({
    baseUrl,
    headers: { Authorization: `Bearer ${service.adminToken}` },
    add: { method: "PUT", path: "/api/users/{subject}/roles/{role}" },
    remove: { method: "DELETE", path: "/api/users/{subject}/roles/{role}" },
    check: { method: "GET", path: "/api/users/{subject}/roles/{role}", expect: { present: [200], absent: [404] } },
    listAccounts: {
      path: "/api/users",
      items: "/users",
      subject: "id",
      roles: "roles",
      adminRoles: ["admin"],
      brokerSubject: "ephemera-bot",
    },
    health: { path: "/healthz" },
    ...overrides,
  });

  return {
    service,
    store,
    context,
    settings,
    connector(targetSettings = settings(), targetId = "tickets") {
      const connector = createHttpConnector({ id: targetId, type: "http", settings: targetSettings }, context);
      made.push(connector);
      return connector;
    },
    user(roles = []) {
      const subject = uniqueName("agent");
      service.addUser(subject, roles);
      return { subject, identity: { ...testIdentity, attributes: { http_subject: subject } } };
    },
    entitlement(connector, role) {
      const spec = entitlement(connector.targetId, role.toLowerCase().replace(/[^a-z0-9_-]/g, "-"), { role });
      connector.validateEntitlement(spec);
      return spec;
    },
    grant(connector, spec, identity) {
      return grantFor(connector, spec, identity);
    },
    insert: (grant) => storeGrant(store, grant, grant.state),
    setState: (grant, state) => moveGrant(store, grant, state),
    async close() {
      for (const connector of made) await connector.close();
      await service.close();
      await context.close();
    },
  };
}

/** The user side of the ticketing tool: log in as `subject`, then open the queue of `role`. */
export async function login(baseUrl: string, subject: string): Promise<string | null> {
  const res = await fetch(`${baseUrl}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user: subject }),
  });
  return res.ok ? ((await res.json()) as { session: string }).session : null;
}

/** The status the queue of `role` answers the session with: 200 while the role is held, 403 once it is not. */
export async function openQueue(baseUrl: string, session: string, role: string): Promise<number> {
  const res = await fetch(`${baseUrl}/app/queues/${encodeURIComponent(role)}`, {
    headers: { authorization: `Session ${session}` },
  });
  await res.arrayBuffer();
  return res.status;
}
