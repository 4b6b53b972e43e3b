// What the http connector's tests share: the ticketing service, a real SQLite grant store, a context, connectors.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Grant, GrantState, Identity } from "../../../domain/types.js";
import { draft, systemActor } from "../../../lifecycle/audit-draft.js";
import { openSqliteStore, type SqliteStore } from "../../../storage/index.js";
import { makeRequest } from "../../../storage/testing/fixtures.js";
import { systemClock } from "../../../support/clock.js";
import { type Logger, silentLogger } from "../../../support/logger.js";
import { Sealer } from "../../../support/sealer.js";
import type { Connector, EntitlementSpec } from "../../connector.js";
import type { ConnectorContext } from "../../registry.js";
import { activeGrant } from "../../testing/contract.js";
import { entitlement, grantFor, testIdentity, uniqueName } from "../../testing/target-fixture.js";
import { TokenAuthority } from "../../token/index.js";
import { createHttpConnector } from "../index.js";
import { TicketingService } from "../testing-service.js";

export interface HttpFixture {
  readonly service: TicketingService;
  readonly store: SqliteStore;
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
  const dir = mkdtempSync(join(tmpdir(), "ephemera-http-"));
  const store = await openSqliteStore(join(dir, "grants.db"));
  const sealer = new Sealer(randomBytes(32));
  const tokenAuthority = new TokenAuthority({
    issuer: "https://ephemera.test",
    store,
    sealer,
    clock: systemClock,
    rotationIntervalSeconds: 3600,
    maxTokenLifetimeSeconds: 3600,
    leewaySeconds: 60,
  });
  const context: ConnectorContext = {
    store,
    clock: systemClock,
    sealer,
    logger: options.logger ?? silentLogger(),
    tokenAuthority,
  };
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
    async insert(grant) {
      const request = makeRequest({
        id: grant.requestId,
        identityId: grant.identityId,
        targetId: grant.targetId,
        entitlement: grant.entitlement,
        state: "issued",
        grantId: grant.id,
      });
      await store.apply({
        writes: [
          { kind: "insertRequest", request },
          { kind: "insertGrant", grant },
        ],
        audit: [draft("grant.issuing", systemClock.now(), systemActor("test"), { grant })],
      });
      return grant;
    },
    async setState(grant, state) {
      const current = (await store.getGrant(grant.id)) ?? grant;
      const next: Grant =
        state === "active" && current.state === "issuing"
          ? { ...activeGrant(current, { handleData: {} }), version: current.version + 1 }
          : { ...current, state, version: current.version + 1 };
      await store.apply({
        writes: [{ kind: "updateGrant", grant: next, expectedVersion: current.version }],
        audit: [draft("grant.revoking", systemClock.now(), systemActor("test"), { grant: next }, { state })],
      });
      return next;
    },
    async close() {
      for (const connector of made) await connector.close();
      await service.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
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
