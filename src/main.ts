// Composition root: load config, open the store, build the key authority, connectors and lifecycle; start the
// scheduler and HTTP. The parts it assembles are in compose/; the order they are built, started and closed in is here.
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import type { AuditStream } from "./audit/audit-stream.js";
import type { Checkpointer } from "./audit/checkpointer.js";
import {
  buildAuditJobs,
  buildAuthentication,
  buildCatalog,
  buildConnectors,
  buildLifecycleDeps,
  buildLifecycleJobs,
  buildPolicyReloader,
  buildScheduler,
  closeConnectors,
  ensureBootstrapKeys,
  entitlementsByName,
  loadAuditKeys,
  loadDecider,
  loadMasterKey,
  openStore,
  packageVersion,
  readinessCheck,
  type StartContext,
  startHousekeeping,
  startJobs,
  startTokenAuthority,
  stopJobs,
} from "./compose/index.js";
import type { Config } from "./config/load.js";
import type { Connector } from "./connectors/connector.js";
import { ADMIN_GROUP } from "./domain/index.js";
import type { App } from "./http/server.js";
import { buildServer } from "./http/server.js";
import { IdentityRegistry } from "./identity/registry.js";
import type { ApprovalSweeper } from "./lifecycle/approval/approval-sweeper.js";
import type { DormancyMonitor } from "./lifecycle/identities/dormancy-monitor.js";
import type { ExpiryScheduler } from "./lifecycle/monitor/expiry-scheduler.js";
import type { Maintenance } from "./lifecycle/monitor/maintenance.js";
import { LifecycleMetrics } from "./lifecycle/monitor/metrics.js";
import type { HistoryRetention } from "./lifecycle/monitor/prune-history.js";
import { draft, systemActor } from "./lifecycle/shared/audit-draft.js";
import type { LifecycleDeps } from "./lifecycle/shared/deps.js";
import type { WebhookDelivery } from "./notifications/webhook-delivery.js";
import type { SwappableDecider } from "./policy/decider.js";
import type { PolicyReloader } from "./policy/reloader.js";
import { type Clock, systemClock } from "./support/clock.js";
import { randomToken } from "./support/ids.js";
import { createLogger, type Logger } from "./support/logger.js";
import { Sealer } from "./support/sealer.js";
import type { TokenAuthority } from "./tokens/index.js";

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

export async function startBroker(config: Config, options: StartOptions = {}): Promise<Broker> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  // Loaded first: policies that do not validate stop the start before anything is opened.
  const decider = await loadDecider(config);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const sealer = new Sealer(loadMasterKey(config));
  // One id per broker process: the holder of its leases among replicas sharing a PostgreSQL store.
  const replicaId = `${hostname()}:${process.pid}:${randomToken(8)}`;
  const { store, shared, close: closeStore } = await openStore(config);
  // Whatever was opened is closed again when the start fails, so a failed start leaves no timer or pool running.
  const opened: Array<() => Promise<void>> = [closeStore];
  try {
    const ctx: StartContext = { config, clock, logger, sealer, store, shared, replicaId };
    return await startOnStore(ctx, options, { decider, closeStore, opened });
  } catch (error) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    throw error;
  }
}

interface Opened {
  readonly decider: SwappableDecider;
  /** Closes the store and gives up its lock. */
  readonly closeStore: () => Promise<void>;
  /** Closers of what has been opened so far, run in reverse when the start fails. */
  readonly opened: Array<() => Promise<void>>;
}

async function startOnStore(ctx: StartContext, options: StartOptions, started: Opened): Promise<Broker> {
  const { config, clock, logger, store } = ctx;
  const { decider, closeStore, opened } = started;

  const auditKeys = await loadAuditKeys(ctx);
  const entitlements = entitlementsByName(config);
  const tokens = await startTokenAuthority(ctx);

  const connectors = new Map<string, Connector>();
  opened.push(() => closeConnectors(connectors));
  await buildConnectors(ctx, tokens, connectors);
  // Identities live in the store's registry: the config file defines them, the registry keeps their status (offboarded,
  // dormant) and sightings, so every replica sees the same thing.
  for (const i of config.identities.values()) {
    if (i.adminFlag) {
      logger.warn(
        { identity: i.id },
        `identities.${i.id}.admin is deprecated: it puts '${i.id}' in group '${ADMIN_GROUP}'; write groups: [${ADMIN_GROUP}] instead`,
      );
    }
  }
  const identities = new IdentityRegistry(store, clock, logger);
  const synced = await identities.syncConfigured(config.identities.values());
  const metrics = new LifecycleMetrics(
    store,
    () => store.stats,
    () => clock.now(),
  );
  const deps = buildLifecycleDeps(ctx, {
    catalog: buildCatalog(identities, entitlements, connectors),
    decider,
    auditHmac: auditKeys.hmac,
    metrics,
    // Issuing and renewing tell the scheduler (built below from these deps, before anything issues) when a grant is due.
    expiryHint: (dueAt) => scheduler.hint(dueAt),
  });

  const bootstrap = await ensureBootstrapKeys(config, store, clock);
  const authentication = buildAuthentication(ctx, identities, bootstrap?.entries ?? null);

  const scheduler = buildScheduler(ctx, deps);
  // SQLite is one process's store: whatever a previous process left mid-flight is this process's to finish. A shared
  // store's in-flight work may be another live replica's: it is taken over when its claim lapses.
  const recovered = await scheduler.recoverAfterRestart({ exclusive: !ctx.shared });
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
  const jobs = {
    scheduler,
    ...buildLifecycleJobs(ctx, deps, connectors, metrics),
    audit: buildAuditJobs(ctx, auditKeys.checkpointKey, packageVersion()),
  };
  const { checkpointer } = jobs.audit;
  const checkpointKey = auditKeys.checkpointKey;
  const policies = await buildPolicyReloader(ctx, decider, deps, metrics);

  const app = await buildServer({
    deps,
    auth: authentication.chain,
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
    maintenance: jobs.maintenance,
    connectors,
    ...(checkpointKey ? { checkpointKey: { keyId: checkpointKey.keyId, publicJwk: checkpointKey.publicJwk } } : {}),
    ...(checkpointer ? { lastCheckpoint: () => checkpointer.last() } : {}),
    entitlementNames: [...entitlements.keys()],
    rateLimit: config.server.rateLimit,
    trustProxy: config.server.trustProxy,
    consoleIdleMs: config.console.idleTimeoutMs,
    credentialValid: authentication.credentialValid,
    personSignIn: authentication.personSignIn,
    apiKeySignIn: config.console.signIn.apiKey,
    refusalWindowMs: config.audit.refusalWindowMs,
    readiness: readinessCheck(ctx, tokens, connectors),
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
  if (options.schedule ?? true) startJobs(jobs);
  policies?.start(config.policies?.watch ?? false);
  const stopHousekeeping = startHousekeeping(ctx, tokens);

  if (options.listen ?? true) logger.info({ url, recovered }, "ephemera broker listening");

  let closed = false;
  return {
    config,
    app,
    deps,
    tokens,
    scheduler,
    maintenance: jobs.maintenance,
    identities,
    approvals: jobs.approvals,
    notifications: jobs.notifications,
    policies,
    audit: jobs.audit,
    dormancy: jobs.dormancy,
    retention: jobs.retention,
    url,
    bootstrapEnv: bootstrap?.env ?? null,
    // Stops taking requests first, then every job (a pass under way finishes), then writes what is batched, and only
    // then closes the connectors and the store the jobs used.
    async close() {
      if (closed) return;
      closed = true;
      stopHousekeeping();
      await app.close();
      await policies?.stop();
      await stopJobs(jobs);
      await deps.usage?.flush();
      await identities.flush();
      await closeConnectors(connectors);
      await closeStore();
    },
  };
}
