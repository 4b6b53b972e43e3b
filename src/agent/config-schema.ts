// The agent's configuration file: every key, its default and its meaning (documented in docs/agent.md).
import Type, { type Static } from "typebox";

const Duration = Type.Union([Type.String({ minLength: 1 }), Type.Integer({ minimum: 0 })], {
  description: 'a duration such as "30s", "15m", "1h30m", "500ms", or whole seconds',
});

const Name = Type.String({ pattern: "^[a-z0-9][a-z0-9_-]{0,62}$", description: "lower-case letters, digits, - and _" });

const SecretRef = Type.Object(
  {
    env: Type.Optional(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$", description: "variable holding it" })),
    file: Type.Optional(Type.String({ minLength: 1, description: "file holding it (re-read on every use)" })),
  },
  { additionalProperties: false, description: "{ env: NAME } or { file: PATH }, never the secret itself" },
);

export const AuthSchema = Type.Object(
  {
    type: Type.Union(
      ["api-key", "oidc-file", "github-actions", "gitlab-ci", "spiffe-file"].map((t) => Type.Literal(t)),
      { description: "how the agent proves who it is to the broker" },
    ),
    key: Type.Optional(SecretRef),
    path: Type.Optional(
      Type.String({ minLength: 1, description: "oidc-file, spiffe-file: the token file, re-read on every call" }),
    ),
    audience: Type.Optional(
      Type.String({ minLength: 1, description: "github-actions: the audience to ask for (the broker's)" }),
    ),
    variable: Type.Optional(
      Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$", description: "gitlab-ci: the id_tokens variable's name" }),
    ),
  },
  { additionalProperties: false },
);

export const SinkSchema = Type.Object(
  {
    path: Type.String({ minLength: 1, description: "the file to write (its directory must exist)" }),
    format: Type.Optional(
      Type.Union([Type.Literal("env"), Type.Literal("json"), Type.Literal("template")], { description: "default env" }),
    ),
    template: Type.Optional(Type.String({ description: "format template: a Mustache template, inline" })),
    templateFile: Type.Optional(Type.String({ minLength: 1, description: "format template: a file holding it" })),
    mode: Type.Optional(
      Type.Union([Type.String({ pattern: "^0?[0-7]{3}$" }), Type.Integer({ minimum: 0, maximum: 0o777 })], {
        description: 'file mode, default "0600"',
      }),
    ),
    uid: Type.Optional(Type.Integer({ minimum: 0, description: "owner to give the file" })),
    gid: Type.Optional(Type.Integer({ minimum: 0, description: "group to give the file" })),
  },
  { additionalProperties: false },
);

export const OnChangeSchema = Type.Object(
  {
    signal: Type.Optional(
      Type.Union(
        ["SIGHUP", "SIGUSR1", "SIGUSR2", "SIGTERM"].map((s) => Type.Literal(s)),
        {
          description: "sent to the supervised command when this credential's sink changes",
        },
      ),
    ),
    command: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: "program and arguments run (no shell) after the sink changes",
      }),
    ),
  },
  { additionalProperties: false },
);

export const CredentialSchema = Type.Object(
  {
    entitlement: Type.String({
      pattern: "^[a-z0-9][a-z0-9_-]*/[a-z0-9][a-z0-9_-]*$",
      description: '"target/entitlement"',
    }),
    duration: Type.Optional(Duration),
    justification: Type.Optional(Type.String({ minLength: 1 })),
    ticket: Type.Optional(Type.String({ minLength: 1 })),
    intent: Type.Optional(Type.String({ minLength: 1 })),
    sink: SinkSchema,
    onChange: Type.Optional(OnChangeSchema),
    approvalTimeout: Type.Optional(Duration),
  },
  { additionalProperties: false },
);

export const AgentConfigSchema = Type.Object(
  {
    broker: Type.Object(
      {
        url: Type.String({
          pattern: "^https?://",
          description: "the broker's URL: https, or http to a loopback address",
        }),
        timeout: Type.Optional(Duration),
      },
      { additionalProperties: false },
    ),
    auth: AuthSchema,
    dpop: Type.Optional(
      Type.Object(
        {
          keyFile: Type.String({ minLength: 1, description: "private JWK that bound credentials are tied to" }),
          create: Type.Optional(Type.Boolean({ description: "make the key (0600) when the file is absent" })),
        },
        { additionalProperties: false },
      ),
    ),
    credentials: Type.Record(Name, CredentialSchema, { minProperties: 1 }),
    renewal: Type.Optional(
      Type.Object(
        {
          grace: Type.Optional(Duration),
          jitter: Type.Optional(Type.Number({ minimum: 0, maximum: 0.5 })),
          retryInitial: Type.Optional(Duration),
          retryMax: Type.Optional(Duration),
        },
        { additionalProperties: false },
      ),
    ),
    shutdown: Type.Optional(
      Type.Object(
        {
          timeout: Type.Optional(Duration),
          removeSinks: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    health: Type.Optional(
      Type.Object(
        { listen: Type.String({ pattern: "^[^:]+:\\d{1,5}$", description: "host:port for /healthz and /metrics" }) },
        { additionalProperties: false },
      ),
    ),
    logging: Type.Optional(
      Type.Object(
        {
          level: Type.Optional(Type.Union(["debug", "info", "warn", "error", "silent"].map((l) => Type.Literal(l)))),
        },
        { additionalProperties: false },
      ),
    ),
    once: Type.Optional(Type.Boolean({ description: "write every sink once and exit, leaving grants to expire" })),
  },
  { additionalProperties: false },
);

export type RawAgentConfig = Static<typeof AgentConfigSchema>;
