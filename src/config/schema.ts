// The configuration file's schema: every option, its default and its meaning. Documented in README "Configuration".
import Type, { type Static } from "typebox";
import { AuditSchema } from "./audit-config.js";
import { DEFAULTS, NOTIFICATION_EVENTS } from "./defaults.js";
import { Duration, Name } from "./schema-types.js";
import { ServerSchema } from "./server-schema.js";

export const IdentitySchema = Type.Object(
  {
    kind: Type.Union(
      ["service_account", "workload", "pipeline", "agent", "human"].map((k) => Type.Literal(k)),
      { description: "what the identity is" },
    ),
    owner: Type.Optional(
      Type.String({ minLength: 1, description: "person or team answerable; required for non-humans" }),
    ),
    groups: Type.Optional(Type.Array(Name, { description: "groups the allow-list (and later policy) can name" })),
    attributes: Type.Optional(Type.Record(Type.String(), Type.String())),
    admin: Type.Optional(
      Type.Boolean({ description: "deprecated: the same as listing the group 'admins' in groups (the start warns)" }),
    ),
    apiKeys: Type.Optional(
      Type.Array(
        Type.Object(
          {
            id: Type.String({ pattern: "^[0-9a-z]{10,40}$" }),
            hash: Type.String({ pattern: "^sha256:[0-9a-f]{64}$" }),
          },
          { additionalProperties: false },
        ),
        { description: "hashes of API keys (from `ephemera keygen`); the keys themselves never go in the file" },
      ),
    ),
  },
  { additionalProperties: false },
);

export const EntitlementSchema = Type.Object(
  {
    defaultDuration: Duration(),
    maxDuration: Duration(),
    risk: Type.Optional(
      Type.Union([Type.Literal("low"), Type.Literal("medium"), Type.Literal("high")], {
        default: DEFAULTS.entitlement.risk,
      }),
    ),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: true, description: "other keys are the connector's settings (scopes, roles…)" },
);

export const TargetSchema = Type.Object(
  {
    type: Type.String({
      minLength: 1,
      description: "connector type: token, x509, postgres, postgres-elevation, mariadb, redis, rabbitmq, http",
    }),
    adminRotation: Type.Optional(Duration()),
    entitlements: Type.Record(Name, EntitlementSchema, { minProperties: 1 }),
  },
  { additionalProperties: true, description: "other keys are the connector's settings" },
);

export const AccessRuleSchema = Type.Object(
  {
    identities: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    groups: Type.Optional(Type.Array(Name)),
    entitlements: Type.Array(Type.String({ pattern: "^[a-z0-9][a-z0-9_-]*/([a-z0-9][a-z0-9_-]*|\\*)$" }), {
      minItems: 1,
      description: '"target/entitlement" or "target/*"',
    }),
    maxDuration: Type.Optional(Duration()),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    dataDir: Type.Optional(
      Type.String({ minLength: 1, description: "where the broker keeps its files", default: DEFAULTS.dataDir }),
    ),
    server: Type.Optional(ServerSchema),
    storage: Type.Optional(
      Type.Object(
        {
          sqlite: Type.Optional(
            Type.String({ minLength: 1, description: "database file; default <dataDir>/ephemera.db" }),
          ),
          postgres: Type.Optional(
            Type.Union(
              [
                Type.String({ pattern: "^postgres(ql)?://", description: "postgres://user@host:port/database" }),
                Type.Object(
                  {
                    url: Type.String({ pattern: "^postgres(ql)?://" }),
                    password: Type.Optional(
                      Type.Unknown({ description: "{ env: NAME } or { file: PATH }; never the password itself" }),
                    ),
                    schema: Type.Optional(
                      Type.String({ pattern: "^[a-z_][a-z0-9_]{0,62}$", default: DEFAULTS.storage.postgres.schema }),
                    ),
                    poolSize: Type.Optional(
                      Type.Integer({ minimum: 1, maximum: 200, default: DEFAULTS.storage.postgres.poolSize }),
                    ),
                  },
                  { additionalProperties: false },
                ),
              ],
              { description: "shared PostgreSQL store for several broker replicas, instead of SQLite" },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    secrets: Type.Optional(
      Type.Object(
        {
          masterKeyFile: Type.Optional(
            Type.String({
              description: "32 random bytes, base64; created on first start when missing; default <dataDir>/master.key",
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    logging: Type.Optional(
      Type.Object(
        {
          level: Type.Optional(
            Type.Union(
              ["fatal", "error", "warn", "info", "debug", "trace", "silent"].map((l) => Type.Literal(l)),
              { description: "EPHEMERA_LOG_LEVEL when not set here", default: DEFAULTS.logging.level },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    tokens: Type.Optional(
      Type.Object(
        {
          issuer: Type.Optional(Type.String({ description: "`iss` of broker-signed tokens; default the public URL" })),
          rotationInterval: Type.Optional(Duration({ default: DEFAULTS.tokens.rotationInterval })),
        },
        { additionalProperties: false },
      ),
    ),
    lifecycle: Type.Optional(
      Type.Object(
        {
          removalClaim: Type.Optional(Duration({ default: DEFAULTS.lifecycle.removalClaim })),
          retryInitial: Type.Optional(Duration({ default: DEFAULTS.lifecycle.retryInitial })),
          retryMax: Type.Optional(Duration({ default: DEFAULTS.lifecycle.retryMax })),
          removalConcurrency: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 1024, default: DEFAULTS.lifecycle.removalConcurrency }),
          ),
          schedulerBatch: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 10_000, default: DEFAULTS.lifecycle.schedulerBatch }),
          ),
          pollInterval: Type.Optional(Duration({ default: DEFAULTS.lifecycle.pollInterval })),
        },
        { additionalProperties: false },
      ),
    ),
    identities: Type.Optional(Type.Record(Type.String({ pattern: "^[a-z0-9][a-z0-9._@-]{0,127}$" }), IdentitySchema)),
    retention: Type.Optional(
      Type.Object(
        {
          endedGrants: Type.Optional(Duration({ default: DEFAULTS.retention.endedGrants })),
          checkInterval: Type.Optional(Duration({ default: DEFAULTS.retention.checkInterval })),
        },
        {
          additionalProperties: false,
          description:
            "ended grants and their requests older than endedGrants are deleted from the grant tables; audit events are always kept",
        },
      ),
    ),
    identityLifecycle: Type.Optional(
      Type.Object(
        {
          dormantAfter: Type.Optional(Duration()),
          checkInterval: Type.Optional(Duration({ default: DEFAULTS.identityLifecycle.checkInterval })),
        },
        {
          additionalProperties: false,
          description: "identities unseen for dormantAfter (when set) become dormant; checked every checkInterval",
        },
      ),
    ),
    authenticators: Type.Optional(
      Type.Array(Type.Object({ type: Type.String({ minLength: 1 }) }, { additionalProperties: true }), {
        description: "how workloads prove who they are (oidc, spiffe-jwt, mtls); each type checks its own options",
      }),
    ),
    targets: Type.Optional(Type.Record(Name, TargetSchema)),
    reconciler: Type.Optional(
      Type.Object(
        {
          interval: Type.Optional(Duration({ default: DEFAULTS.reconciler.interval })),
        },
        { additionalProperties: false, description: "how often accounts in every target are reconciled; 0 = off" },
      ),
    ),
    monitor: Type.Optional(
      Type.Object(
        {
          usage: Type.Optional(
            Type.Object(
              { interval: Type.Optional(Duration({ default: DEFAULTS.monitor.usage.interval })) },
              {
                additionalProperties: false,
                description: "how often targets are asked which grants are in use (first/last used, unused); 0 = off",
              },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    access: Type.Optional(
      Type.Array(AccessRuleSchema, { description: "static allow-list: a simple alternative to `policies` (not both)" }),
    ),
    policies: Type.Optional(
      Type.Union(
        [
          Type.String({ minLength: 1, description: "folder of Cedar policies (*.cedar)" }),
          Type.Object(
            {
              dir: Type.String({ minLength: 1, description: "folder of Cedar policies (*.cedar)" }),
              watch: Type.Optional(
                Type.Boolean({
                  description: "reload when a file changes; SIGHUP always reloads",
                  default: DEFAULTS.policies.watch,
                }),
              ),
              onChange: Type.Optional(
                Type.Union([Type.Literal("revoke"), Type.Literal("expire")], {
                  description: "active grants the new policies no longer permit: revoke them or let them run out",
                  default: DEFAULTS.policies.onChange,
                }),
              ),
            },
            { additionalProperties: false },
          ),
        ],
        { description: "Cedar policies; replaces `access`" },
      ),
    ),
    approvals: Type.Optional(
      Type.Object(
        {
          pendingTimeout: Type.Optional(Duration({ default: DEFAULTS.approvals.pendingTimeout })),
          collectTimeout: Type.Optional(Duration({ default: DEFAULTS.approvals.collectTimeout })),
          sweepInterval: Type.Optional(Duration({ default: DEFAULTS.approvals.sweepInterval })),
          breakGlass: Type.Optional(
            Type.Object(
              {
                maxDuration: Type.Optional(Duration({ default: DEFAULTS.approvals.breakGlass.maxDuration })),
                reviewWithin: Type.Optional(Duration({ default: DEFAULTS.approvals.breakGlass.reviewWithin })),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    notifications: Type.Optional(
      Type.Object(
        {
          webhooks: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  name: Name,
                  url: Type.String({ pattern: "^https?://", description: "where events are POSTed; https" }),
                  allowInsecureLoopback: Type.Optional(
                    Type.Boolean({
                      description: "allow http:// to a loopback address (tests only)",
                      default: DEFAULTS.allowInsecureLoopback,
                    }),
                  ),
                  format: Type.Optional(
                    Type.Union([Type.Literal("json"), Type.Literal("slack")], {
                      default: DEFAULTS.notifications.webhook.format,
                    }),
                  ),
                  secret: Type.Optional(Type.Unknown({ description: "HMAC key: { env: NAME } or { file: PATH }" })),
                  events: Type.Optional(
                    Type.Array(Type.Union(NOTIFICATION_EVENTS.map((e) => Type.Literal(e))), {
                      minItems: 1,
                      default: DEFAULTS.notifications.webhook.events,
                    }),
                  ),
                  maxAttempts: Type.Optional(
                    Type.Integer({ minimum: 1, maximum: 100, default: DEFAULTS.notifications.webhook.maxAttempts }),
                  ),
                  timeout: Type.Optional(Duration({ default: DEFAULTS.notifications.webhook.timeout })),
                },
                { additionalProperties: false },
              ),
            ),
          ),
          retryInitial: Type.Optional(Duration({ default: DEFAULTS.notifications.retryInitial })),
          retryMax: Type.Optional(Duration({ default: DEFAULTS.notifications.retryMax })),
        },
        { additionalProperties: false },
      ),
    ),
    bootstrap: Type.Optional(
      Type.Object(
        {
          envFile: Type.String({
            minLength: 1,
            description: "file to write EPHEMERA_URL and EPHEMERA_TOKEN to (mode 0600)",
          }),
          identity: Type.String({ minLength: 1, description: "identity whose API key goes in EPHEMERA_TOKEN" }),
          admin: Type.Optional(Type.String({ description: "identity whose key goes in EPHEMERA_ADMIN_TOKEN" })),
          approver: Type.Optional(
            Type.String({ description: "identity whose key goes in EPHEMERA_APPROVER_TOKEN (demo approvals)" }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    audit: Type.Optional(AuditSchema),
    console: Type.Optional(
      Type.Object(
        {
          idleTimeout: Type.Optional(
            Type.Union([Type.String({ minLength: 1 }), Type.Integer({ minimum: 60 })], {
              description: "a console session unused this long ends; it ends after 8 h however used",
              default: DEFAULTS.console.idleTimeout,
            }),
          ),
          signIn: Type.Optional(
            Type.Object(
              {
                apiKey: Type.Optional(
                  Type.Boolean({
                    description:
                      "whether the console takes a pasted API key; on without oidc, off when oidc is set unless true",
                  }),
                ),
                oidc: Type.Optional(
                  Type.Record(Type.String(), Type.Unknown(), {
                    description:
                      "the identity provider people sign in with: issuer, clientId, clientSecret ({ env } or { file }), cliClientId, scopes, claims, groupMapping… (docs/console.md)",
                  }),
                ),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type RawConfig = Static<typeof ConfigSchema>;
