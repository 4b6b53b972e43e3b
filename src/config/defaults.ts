// Every configuration default, stated once: the schema shows them as `default`, the loader fills them in from here.
//
// Defaults that depend on other values are computed by the loader and only described in the schema:
// server.publicUrl (from server.listen and server.tls), storage.sqlite and secrets.masterKeyFile (under dataDir),
// tokens.issuer (server.publicUrl), logging.level (EPHEMERA_LOG_LEVEL first) and audit.checkpoints.sink (under dataDir).

/** Every event a webhook can carry; a webhook that names no `events` gets them all. */
export const NOTIFICATION_EVENTS = [
  "approval_pending",
  "break_glass",
  "review_overdue",
  "removal_failed",
  "request_flagged",
] as const;

export const DEFAULTS = {
  dataDir: "./data",
  server: {
    listen: "127.0.0.1:8720",
    bodyLimit: 64 * 1024,
    rateLimit: {
      authFailures: { max: 20, window: "1m" },
      signIns: { max: 10, window: "1m" },
    },
  },
  storage: { postgres: { schema: "public", poolSize: 10 } },
  logging: { level: "info" },
  tokens: { rotationInterval: "24h" },
  lifecycle: {
    removalClaim: "30s",
    retryInitial: "1s",
    retryMax: "30s",
    removalConcurrency: 64,
    schedulerBatch: 1000,
    pollInterval: "1s",
  },
  entitlement: { risk: "low" },
  identityLifecycle: { checkInterval: "1h" },
  retention: { endedGrants: "forever", checkInterval: "1h" },
  reconciler: { interval: "5m" },
  monitor: { usage: { interval: "30s" } },
  policies: { watch: true, onChange: "revoke" },
  approvals: {
    pendingTimeout: "1h",
    collectTimeout: "1h",
    sweepInterval: "5s",
    breakGlass: { maxDuration: "1h", reviewWithin: "24h" },
  },
  notifications: {
    retryInitial: "2s",
    retryMax: "5m",
    webhook: { format: "json", events: NOTIFICATION_EVENTS, maxAttempts: 8, timeout: "5s" },
  },
  /** `allowInsecureLoopback` of webhooks and the audit stream: plain http to loopback is for tests only. */
  allowInsecureLoopback: false,
  audit: {
    checkpoints: { every: 1000, interval: "60s" },
    stream: { format: "jsonl", interval: "5s", batch: 500, timeout: "10s" },
    refusalWindow: "1m",
  },
  console: { idleTimeout: "30m" },
} as const;
