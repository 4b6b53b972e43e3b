// The configuration file's schema: every option, its default and its meaning. Documented in README "Configuration".
import Type, { type Static } from "typebox";
import { AuditSchema } from "./audit-config.js";

const Duration = Type.Union([Type.String({ minLength: 1 }), Type.Integer({ minimum: 0 })], {
  description: 'a duration such as "90s", "15m", "1h30m", "2d", or whole seconds',
});

const Name = Type.String({ pattern: "^[a-z0-9][a-z0-9_-]{0,62}$", description: "lower-case letters, digits, - and _" });

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
    admin: Type.Optional(Type.Boolean({ description: "may act on every grant and read the audit log" })),
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
    defaultDuration: Duration,
    maxDuration: Duration,
    risk: Type.Optional(Type.Union([Type.Literal("low"), Type.Literal("medium"), Type.Literal("high")])),
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
    adminRotation: Type.Optional(Duration),
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
    maxDuration: Type.Optional(Duration),
  },
  { additionalProperties: false },
);

const RateLimitSchema = Type.Object(
  {
    max: Type.Integer({ minimum: 1, description: "attempts allowed per window from one source" }),
    window: Duration,
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    dataDir: Type.Optional(
      Type.String({ minLength: 1, description: "where the broker keeps its files; default ./data" }),
    ),
    server: Type.Optional(
      Type.Object(
        {
          listen: Type.Optional(Type.String({ description: "host:port, default 127.0.0.1:8720" })),
          publicUrl: Type.Optional(Type.String({ description: "the URL callers use; default http://<listen>" })),
          bodyLimit: Type.Optional(Type.Integer({ minimum: 1024, description: "largest request body in bytes" })),
          trustProxy: Type.Optional(
            Type.Array(Type.String({ minLength: 1 }), {
              description:
                "addresses or CIDRs of the proxies in front of the broker whose X-Forwarded-For is believed: rate limits and audit source addresses then see the client's address",
            }),
          ),
          rateLimit: Type.Optional(
            Type.Union([
              Type.Literal(false, { description: "no limits (behind a proxy that limits instead)" }),
              Type.Object(
                {
                  authFailures: Type.Optional(RateLimitSchema),
                  signIns: Type.Optional(RateLimitSchema),
                },
                {
                  additionalProperties: false,
                  description:
                    "per source address: failed authentications (a valid credential is never limited) and console sign-ins",
                },
              ),
            ]),
          ),
          tls: Type.Optional(
            Type.Object(
              {
                cert: Type.String({ minLength: 1, description: "PEM file of the server certificate (and chain)" }),
                key: Type.String({ minLength: 1, description: "PEM file of the server's private key" }),
                clientCa: Type.Optional(
                  Type.String({
                    minLength: 1,
                    description:
                      "PEM file of the CAs client certificates must chain to; set to ask for client certificates",
                  }),
                ),
              },
              {
                additionalProperties: false,
                description: "serve HTTPS; with clientCa, also ask for client certificates (mTLS)",
              },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
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
                    schema: Type.Optional(Type.String({ pattern: "^[a-z_][a-z0-9_]{0,62}$" })),
                    poolSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
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
            Type.String({ description: "32 random bytes, base64; created on first start when missing" }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    logging: Type.Optional(
      Type.Object(
        {
          level: Type.Optional(
            Type.Union(["fatal", "error", "warn", "info", "debug", "trace", "silent"].map((l) => Type.Literal(l))),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    tokens: Type.Optional(
      Type.Object(
        {
          issuer: Type.Optional(Type.String({ description: "`iss` of broker-signed tokens; default the public URL" })),
          rotationInterval: Type.Optional(Duration),
        },
        { additionalProperties: false },
      ),
    ),
    lifecycle: Type.Optional(
      Type.Object(
        {
          removalClaim: Type.Optional(Duration),
          retryInitial: Type.Optional(Duration),
          retryMax: Type.Optional(Duration),
          removalConcurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024 })),
          schedulerBatch: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
          pollInterval: Type.Optional(Duration),
        },
        { additionalProperties: false },
      ),
    ),
    identities: Type.Optional(Type.Record(Type.String({ pattern: "^[a-z0-9][a-z0-9._@-]{0,127}$" }), IdentitySchema)),
    retention: Type.Optional(
      Type.Object(
        {
          endedGrants: Type.Optional(Duration),
          checkInterval: Type.Optional(Duration),
        },
        {
          additionalProperties: false,
          description:
            "ended grants and their requests older than endedGrants are deleted from the grant tables (default: forever); audit events are always kept",
        },
      ),
    ),
    identityLifecycle: Type.Optional(
      Type.Object(
        {
          dormantAfter: Type.Optional(Duration),
          checkInterval: Type.Optional(Duration),
        },
        {
          additionalProperties: false,
          description:
            "identities unseen for dormantAfter become dormant (default: never); checked every checkInterval",
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
          interval: Type.Optional(Duration),
        },
        { additionalProperties: false, description: "how often accounts in every target are reconciled; 0 = off" },
      ),
    ),
    monitor: Type.Optional(
      Type.Object(
        {
          usage: Type.Optional(
            Type.Object(
              { interval: Type.Optional(Duration) },
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
                Type.Boolean({ description: "reload when a file changes (default true); SIGHUP always reloads" }),
              ),
              onChange: Type.Optional(
                Type.Union([Type.Literal("revoke"), Type.Literal("expire")], {
                  description:
                    "active grants the new policies no longer permit: revoke them (default) or let them run out",
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
          pendingTimeout: Type.Optional(Duration),
          collectTimeout: Type.Optional(Duration),
          sweepInterval: Type.Optional(Duration),
          breakGlass: Type.Optional(
            Type.Object(
              { maxDuration: Type.Optional(Duration), reviewWithin: Type.Optional(Duration) },
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
                    Type.Boolean({ description: "allow http:// to a loopback address (tests only); default false" }),
                  ),
                  format: Type.Optional(Type.Union([Type.Literal("json"), Type.Literal("slack")])),
                  secret: Type.Optional(Type.Unknown({ description: "HMAC key: { env: NAME } or { file: PATH }" })),
                  events: Type.Optional(
                    Type.Array(
                      Type.Union(
                        ["approval_pending", "break_glass", "review_overdue", "removal_failed", "request_flagged"].map(
                          (e) => Type.Literal(e),
                        ),
                      ),
                      { minItems: 1 },
                    ),
                  ),
                  maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
                  timeout: Type.Optional(Duration),
                },
                { additionalProperties: false },
              ),
            ),
          ),
          retryInitial: Type.Optional(Duration),
          retryMax: Type.Optional(Duration),
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
              description: "a console session unused this long ends (30m); it ends after 8 h however used",
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type RawConfig = Static<typeof ConfigSchema>;
