// Composition root: load config, build the store, key authority, connectors and lifecycle; start the scheduler and HTTP.
import { mkdirSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { loadCheckpointKey, loadHmacKey } from "./audit/audit-keys.js";
import { AuditStream } from "./audit/audit-stream.js";
import { Checkpointer } from "./audit/checkpointer.js";
import { AuditHmac } from "./audit/hmac.js";
import { bootstrapKeyLookup, ensureBootstrapKeys, loadMasterKey } from "./bootstrap.js";
import type { Config } from "./config/load.js";
import type { Connector, EntitlementSpec } from "./connectors/connector.js";
import { createConnector } from "./connectors/registry.js";
import type { App } from "./http/server.js";
import { buildServer } from "./http/server.js";
import { ApiKeyAuthenticator } from "./identity/api-keys.js";
import { AuthenticatorChain } from "./identity/authenticate.js";
import { createAuthenticator } from "./identity/catalogue.js";
import { IdentityRegistry } from "./identity/registry.js";
import { ApprovalSweeper } from "./lifecycle/approval/approval-sweeper.js";
import { DormancyMonitor } from "./lifecycle/identities/dormancy-monitor.js";
import { withExpiryHints } from "./lifecycle/monitor/expiry-hints.js";
import { ExpiryScheduler } from "./lifecycle/monitor/expiry-scheduler.js";
import { Maintenance } from "./lifecycle/monitor/maintenance.js";
import { LifecycleMetrics } from "./lifecycle/monitor/metrics.js";
import { UsageMonitor } from "./lifecycle/monitor/observe-usage.js";
import { HistoryRetention } from "./lifecycle/monitor/prune-history.js";
import { UsageRecorder } from "./lifecycle/monitor/usage-recorder.js";
import { recheckActiveGrants } from "./lifecycle/policy/recheck-grants.js";
import { draft, systemActor } from "./lifecycle/shared/audit-draft.js";
import type { Catalog, LifecycleDeps } from "./lifecycle/shared/deps.js";
import { OutboxNotifier } from "./notifications/notifier.js";
import { WebhookDelivery } from "./notifications/webhook-delivery.js";
import { AllowListDecider } from "./policy/allow-list.js";
import { type PolicyDecider, SwappableDecider } from "./policy/decider.js";
import type { PolicyReloader } from "./policy/reloader.js";
import type { PostgresStore } from "./storage/postgres/index.js";
import { openPostgresStore } from "./storage/postgres/index.js";
import type { SqliteStore } from "./storage/sqlite/index.js";
import { lockSqliteStore, openSqliteStore } from "./storage/sqlite/index.js";
import { type Clock, systemClock } from "./support/clock.js";
import { describeError } from "./support/errors.js";
import { randomToken } from "./support/ids.js";
import { createLogger, type Logger } from "./support/logger.js";
import { Sealer } from "./support/sealer.js";
import { SingleFlight } from "./support/single-flight.js";
import { TokenAuthority } from "./tokens/index.js";

type OpenedStore = SqliteStore | PostgresStore;

export interface Broker {
  readonly config: Config;
  readonly app: App;
  readonly deps: LifecycleDeps;
  readonly tokens: TokenAuthority;
  readonly scheduler: ExpiryScheduler;
  /** Reconciliation, discovery and scheduled admin rotation. */
  readonly maintenance: Maintenance;
  /** Every identity the broker knows, with status and sightings. */
  readonly identities: IdentityRegistry;
  /** Times out pending requests, alarms overdue break-glass reviews, rotates after break-glass. */
  readonly approvals: ApprovalSweeper;
  /** Delivers the notification outbox to the configured webhooks. */
  readonly notifications: WebhookDelivery;
  /** Reloads Cedar policies (file change, SIGHUP); null when the allow-list decides. */
  readonly policies: PolicyReloader | null;
  /** Signed checkpoints (null when turned off) and the SIEM stream (null when not configured). */
  readonly audit: { readonly checkpointer: Checkpointer | null; readonly stream: AuditStream | null };
  /** Marks identities unseen for `identityLifecycle.dormantAfter` dormant; null when dormancy is off. */
  readonly dormancy: DormancyMonitor | null;
  /** Deletes ended grants past `retention.endedGrants`; null when history is kept forever (the default). */
  readonly retention: HistoryRetention | null;
  /** Base URL the server listens on (with the real port when 0 was configured). */
  readonly url: string;
  /** Env-file values written by the bootstrap option (demo keys), if any. */
  readonly bootstrapEnv: ReadonlyMap<string, string> | null;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Listen for HTTP (default true); tests may drive `app.inject` instead. */
  readonly listen?: boolean;
  /** Start the expiry scheduler's timer (default true). */
  readonly schedule?: boolean;
}

/** How often each replica reloads the signing keys from the store. */
const KEY_RELOAD_MS = 10_000;

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** The Cedar decider for a policy folder; the engine is loaded on first use, so an allow-list broker never loads it. */
async function loadCedarDecider(dir: string): Promise<PolicyDecider> {
  const [{ CedarDecider }, { loadPolicyFolder }] = await Promise.all([
    import("./policy/cedar/cedar-decider.js"),
    import("./policy/cedar/policy-set.js"),
  ]);
  return new CedarDecider(loadPolicyFolder(dir));
}

export async function startBroker(config: Config, options: StartOptions = {}): Promise<Broker> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  // Cedar policies when a folder is configured, else the allow-list. Loaded first: policies that do not validate
  // stop the start before anything is opened.
  const initialDecider: PolicyDecider = config.policies
    ? await loadCedarDecider(config.policies.dir)
    : new AllowListDecider(config.access);
  const decider = new SwappableDecider(initialDecider);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const sealer = new Sealer(loadMasterKey(config));
  // One id per broker process: the holder of its leases among replicas sharing a PostgreSQL store.
  const replicaId = `${hostname()}:${process.pid}:${randomToken(8)}`;
  const pg = config.storage.postgres;
  const shared = pg !== null;
  // A SQLite store is one process's: its lock is taken before anything reads or migrates it.
  const sqlitePath = config.storage.sqlitePath;
  const storeLock = pg || sqlitePath === ":memory:" ? null : lockSqliteStore(sqlitePath);
  let store: OpenedStore;
  try {
    store = pg
      ? await openPostgresStore({
          url: pg.url,
          password: pg.password ?? undefined,
          schema: pg.schema,
          poolSize: pg.poolSize,
        })
      : await openSqliteStore(sqlitePath);
  } catch (error) {
    storeLock?.release();
    throw error;
  }
  const closeStore = async () => {
    await store.close();
    storeLock?.release();
  };
  // Whatever was opened is closed again when the start fails, so a failed start leaves no timer or pool running.
  const opened: Array<() => Promise<void>> = [closeStore];
  try {
    return await startOnStore(config, options, {
      clock,
      logger,
      decider,
      sealer,
      replicaId,
      store,
      closeStore,
      shared,
      opened,
    });
  } catch (error) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    throw error;
  }
}

interface Opened {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly decider: SwappableDecider;
  readonly sealer: Sealer;
  readonly replicaId: string;
  readonly store: OpenedStore;
  /** Closes the store and gives up its lock. */
  readonly closeStore: () => Promise<void>;
  readonly shared: boolean;
  /** Closers of what has been opened so far, run in reverse when the start fails. */
  readonly opened: Array<() => Promise<void>>;
}

async function startOnStore(config: Config, options: StartOptions, started: Opened): Promise<Broker> {
  const { clock, logger, decider, sealer, replicaId, store, closeStore, shared, opened } = started;

  // The audit's keys: HMAC for sensitive values (configured, or made and sealed on first start) and the checkpoint key.
  const auditHmac = new AuditHmac(
    config.audit.hmacKey !== null
      ? Buffer.from(config.audit.hmacKey, "utf8")
      : await loadHmacKey(store, sealer, clock.now()),
  );
  const checkpointConfig = config.audit.checkpoints;
  const checkpointKey = checkpointConfig ? await loadCheckpointKey(store, sealer, clock.now()) : null;
  if (checkpointKey) {
    logger.info({ keyId: checkpointKey.keyId, publicKey: checkpointKey.publicJwk }, "audit checkpoint key (pin it)");
  }

  const entitlements = new Map<string, EntitlementSpec>();
  for (const target of config.targets) for (const e of target.entitlements) entitlements.set(e.name, e);
  const tokenLifetimes = config.targets
    .filter((t) => t.type === "token")
    .flatMap((t) => t.entitlements.map((e) => e.maxDurationSeconds));
  const tokens = new TokenAuthority({
    issuer: config.tokens.issuer,
    store,
    sealer,
    clock,
    rotationIntervalSeconds: config.tokens.rotationIntervalSeconds,
    maxTokenLifetimeSeconds: Math.max(3600, ...tokenLifetimes),
    replicaId,
    // Replicas reload the key ring every KEY_RELOAD_MS: a rotated-in key is in every JWKS before it signs.
    publishAheadSeconds: shared ? (KEY_RELOAD_MS * 3) / 1000 : 0,
  });
  await tokens.init();

  const connectors = new Map<string, Connector>();
  opened.push(async () => {
    for (const connector of connectors.values()) await connector.close().catch(() => undefined);
  });
  for (const target of config.targets) {
    const connector = await createConnector(target, { store, clock, sealer, logger, tokenAuthority: tokens });
    for (const entitlement of target.entitlements) connector.validateEntitlement(entitlement);
    connectors.set(target.id, connector);
  }
  // Identities live in the store's registry: the config file defines them, the registry keeps their status (offboarded,
  // dormant) and sightings, so every replica sees the same thing.
  const identities = new IdentityRegistry(store, clock, logger);
  const synced = await identities.syncConfigured(config.identities.values());
  const catalog: Catalog = {
    identity: (id) => identities.get(id),
    entitlement: (name) => entitlements.get(name),
    connector: (id) => connectors.get(id),
  };
  const metrics = new LifecycleMetrics(
    store,
    () => store.stats,
    () => clock.now(),
  );
  const deps: LifecycleDeps = {
    sealer,
    store,
    clock,
    logger,
    catalog,
    decider,
    // Issuing and renewing tell the scheduler (built below from these deps, before anything issues) when a grant is due.
    observer: withExpiryHints(metrics, (dueAt) => scheduler.hint(dueAt)),
    notifier: new OutboxNotifier(config.notifications.webhooks),
    settings: {
      removalClaimMs: config.lifecycle.removalClaimMs,
      retryInitialMs: config.lifecycle.retryInitialMs,
      retryMaxMs: config.lifecycle.retryMaxMs,
      approvals: {
        pendingTimeoutMs: config.approvals.pendingTimeoutMs,
        collectTimeoutMs: config.approvals.collectTimeoutMs,
        breakGlassMaxSeconds: config.approvals.breakGlassMaxSeconds,
        reviewWithinMs: config.approvals.reviewWithinMs,
      },
    },
    random: Math.random,
    auditHmac,
    usage: new UsageRecorder({ store, clock, logger }),
  };

  const bootstrap = await ensureBootstrapKeys(config, store, clock);
  const keyEntries = [...config.identities.values()].flatMap((identity) =>
    identity.apiKeys.map((k) => ({ keyId: k.id, identityId: identity.id, hash: k.hash })),
  );
  const apiKeys = new ApiKeyAuthenticator(
    [...keyEntries, ...(bootstrap?.entries ?? [])],
    (id) => identities.get(id),
    // With replicas each one's bootstrap keys are in the shared store: a key another replica wrote is accepted too.
    bootstrap && shared ? bootstrapKeyLookup(config, store) : undefined,
  );
  // Workload authenticators first, in configured order; API keys (for development) last. None fetches anything at
  // start: an issuer's keys are fetched when its first token arrives.
  const authenticators = config.authenticators.map((a) =>
    createAuthenticator(a, { registry: identities, clock, logger: logger.child({ authenticator: a.name }) }),
  );

  const scheduler = new ExpiryScheduler(deps, {
    batch: config.lifecycle.schedulerBatch,
    concurrency: config.lifecycle.removalConcurrency,
    pollIntervalMs: config.lifecycle.pollIntervalMs,
  });
  // SQLite is one process's store: whatever a previous process left mid-flight is this process's to finish. A shared
  // store's in-flight work may be another live replica's: it is taken over when its claim lapses.
  const recovered = await scheduler.recoverAfterRestart({ exclusive: !shared });
  await store.apply({
    writes: [],
    audit: [
      draft(
        "broker.started",
        clock.now(),
        systemActor("broker"),
        {},
        { version: packageVersion(), ...recovered, identities: synced, policyVersion: decider.version },
      ),
    ],
  });
  const maintenance = new Maintenance(
    deps,
    connectors,
    {
      reconcileIntervalMs: config.reconcileIntervalMs,
      rotations: new Map(
        config.targets.flatMap((t) => (t.adminRotationSeconds === null ? [] : [[t.id, t.adminRotationSeconds]])),
      ),
      // Only replicas on a shared store take turns; a process alone on SQLite runs every pass (and after a crash its
      // successor must not wait for a lease the dead process held).
      ...(shared ? { replicaId } : {}),
    },
    metrics,
  );
  const usage = new UsageMonitor(deps, connectors, {
    intervalMs: config.usageIntervalMs,
    ...(shared ? { replicaId } : {}),
  });
  const approvals = new ApprovalSweeper(deps, {
    intervalMs: config.approvals.sweepIntervalMs,
    ...(shared ? { replicaId } : {}),
  });
  const dormancy = config.identityLifecycle.dormantAfterMs
    ? new DormancyMonitor(deps, {
        dormantAfterMs: config.identityLifecycle.dormantAfterMs,
        intervalMs: config.identityLifecycle.checkIntervalMs,
        ...(shared ? { replicaId } : {}),
      })
    : null;
  const retention =
    config.retention.endedGrantsMs === null
      ? null
      : new HistoryRetention(deps, {
          keepMs: config.retention.endedGrantsMs,
          intervalMs: config.retention.checkIntervalMs,
          ...(shared ? { replicaId } : {}),
        });
  const notifications = new WebhookDelivery({
    store,
    clock,
    logger,
    webhooks: config.notifications.webhooks,
    retryInitialMs: config.notifications.retryInitialMs,
    retryMaxMs: config.notifications.retryMaxMs,
    observe: (outcome, sink) => metrics.notification(outcome, sink),
  });
  const checkpointer =
    checkpointConfig && checkpointKey
      ? new Checkpointer({
          store,
          clock,
          logger,
          key: checkpointKey,
          every: checkpointConfig.every,
          intervalMs: checkpointConfig.intervalMs,
          sinkDir: checkpointConfig.sinkDir,
          webhook: checkpointConfig.webhook,
          ...(shared ? { replicaId } : {}),
        })
      : null;
  const auditStream = config.audit.stream
    ? new AuditStream({
        store,
        clock,
        logger,
        ...config.audit.stream,
        version: packageVersion(),
        ...(shared ? { replicaId } : {}),
      })
    : null;
  const policyConfig = config.policies;
  // Cedar (a large WebAssembly module) is loaded only when policies are configured.
  const { PolicyReloader } = policyConfig ? await import("./policy/reloader.js") : { PolicyReloader: null };
  const policies: PolicyReloader | null =
    policyConfig && PolicyReloader
      ? new PolicyReloader({
          dir: policyConfig.dir,
          decider,
          store,
          clock,
          logger,
          observe: (outcome) => metrics.policyReload(outcome),
          onApplied: async () => {
            const result = await recheckActiveGrants(deps, policyConfig.onChange);
            if (result.noLongerPermitted > 0)
              logger.warn(result, "active grants no longer permitted by the new policies");
          },
        })
      : null;

  // After a failed commit the broker is not ready until a commit lands. With no traffic (the load balancer moved it
  // away) nothing else would write: readiness itself tries one, which leaves the evidence of the recovery.
  const writeProbe = new SingleFlight(async () =>
    store
      .apply({ writes: [], audit: [draft("broker.writes_resumed", clock.now(), systemActor("broker"), {}, {})] })
      .then(
        () => true,
        () => false,
      ),
  );
  const app = await buildServer({
    deps,
    auth: new AuthenticatorChain([...authenticators, apiKeys]),
    publicUrl: config.server.publicUrl,
    tls: config.server.tls
      ? { cert: config.server.tls.cert, key: config.server.tls.key.reveal(), clientCa: config.server.tls.clientCa }
      : null,
    identities,
    tokens,
    metrics,
    logger,
    bodyLimit: config.server.bodyLimit,
    version: packageVersion(),
    maintenance,
    connectors,
    ...(checkpointKey ? { checkpointKey: { keyId: checkpointKey.keyId, publicJwk: checkpointKey.publicJwk } } : {}),
    ...(checkpointer ? { lastCheckpoint: () => checkpointer.last() } : {}),
    entitlementNames: [...entitlements.keys()],
    rateLimit: config.server.rateLimit,
    trustProxy: config.server.trustProxy,
    consoleIdleMs: config.console.idleTimeoutMs,
    credentialValid: async (method, credentialId, identityId) =>
      method === "api_key" && (await apiKeys.admits(credentialId, identityId)),
    refusalWindowMs: config.audit.refusalWindowMs,
    readiness: async () => {
      const storeHealthy = await store.ping().catch(() => false);
      const checks: Record<string, boolean> = {
        store: storeHealthy,
        storeWritable: storeHealthy && (store.writable || (await writeProbe.run())),
        tokenKeys: tokens.ready,
      };
      for (const [id, connector] of connectors) checks[`target:${id}`] = await connector.healthy().catch(() => false);
      return { ready: Object.values(checks).every(Boolean), checks };
    },
  });

  opened.push(() => app.close());

  let url = config.server.publicUrl;
  if (options.listen ?? true) {
    const address = await app.listen({ host: config.server.host, port: config.server.port });
    url = config.server.port === 0 ? address : config.server.publicUrl;
  } else {
    await app.ready();
  }

  // Timers start once the broker can serve: a start that fails (a port in use) leaves none running.
  if (options.schedule ?? true) {
    scheduler.start();
    maintenance.start();
    approvals.start();
    notifications.start(1000);
    checkpointer?.start();
    auditStream?.start();
    dormancy?.start();
    retention?.start();
    usage.start();
  }
  policies?.start(policyConfig?.watch ?? false);

  const housekeeping = setInterval(() => {
    tokens.rotateIfDue().catch((e: unknown) => logger.error({ err: describeError(e) }, "signing key rotation failed"));
    store.purgeExpiredState(clock.now()).catch((e: unknown) => logger.error({ err: describeError(e) }, "purge failed"));
  }, 60_000);
  housekeeping.unref();
  // Keys another replica created, activated or retired: reloaded well within the publish-ahead time.
  const keyReload = setInterval(() => {
    tokens.refresh().catch((e: unknown) => logger.warn({ err: describeError(e) }, "signing key reload failed"));
  }, KEY_RELOAD_MS);
  keyReload.unref();

  if (options.listen ?? true) logger.info({ url, recovered }, "ephemera broker listening");

  let closed = false;
  return {
    config,
    app,
    deps,
    tokens,
    scheduler,
    maintenance,
    identities,
    approvals,
    notifications,
    policies,
    audit: { checkpointer, stream: auditStream },
    dormancy,
    retention,
    url,
    bootstrapEnv: bootstrap?.env ?? null,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(housekeeping);
      clearInterval(keyReload);
      await app.close();
      await policies?.stop();
      await scheduler.stop();
      await maintenance.stop();
      await approvals.stop();
      await checkpointer?.stop();
      await auditStream?.stop();
      await notifications.stop();
      await dormancy?.stop();
      await retention?.stop();
      await usage.stop();
      await deps.usage?.flush();
      await identities.flush();
      for (const connector of connectors.values()) await connector.close().catch(() => undefined);
      await closeStore();
    },
  };
}
