// JSON schemas of the API's bodies and responses: they validate input, shape output and become the OpenAPI document.
import Type, { type Static } from "typebox";

const Time = Type.Union([Type.String({ format: "date-time" }), Type.Null()]);
const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: "urn:ephemera:problem:<code>; stable" }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    instance: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

export const EvidenceSchema = Type.Object({
  checkedAt: Time,
  checks: Type.Array(Type.Object({ check: Type.String(), passed: Type.Boolean(), observed: Type.String() })),
});

export const GrantSchema = Type.Object(
  {
    id: Type.String(),
    requestId: Type.String(),
    identity: Type.String(),
    target: Type.String(),
    entitlement: Type.String(),
    connectorType: Type.String(),
    handle: Type.String({ description: "the downstream handle (username, token id, serial); never a secret" }),
    state: Type.Union([
      Type.Literal("issuing"),
      Type.Literal("active"),
      Type.Literal("revoking"),
      Type.Literal("revoke_failed"),
      Type.Literal("revoked"),
      Type.Literal("verified"),
    ]),
    removed: Type.Boolean({ description: "true only once removal was verified downstream" }),
    createdAt: Time,
    issuedAt: Time,
    expiresAt: Time,
    maxExpiresAt: Time,
    renewals: Type.Integer(),
    endReason: Nullable(Type.String()),
    endedAt: Time,
    endedBy: Nullable(Type.String()),
    removalAttempts: Type.Integer(),
    lastError: Nullable(Type.String()),
    revokedAt: Time,
    verifiedAt: Time,
    evidence: Nullable(EvidenceSchema),
  },
  {},
);

export const RequestSchema = Type.Object(
  {
    id: Type.String(),
    identity: Type.String(),
    entitlement: Type.String(),
    durationSeconds: Type.Integer(),
    justification: Nullable(Type.String()),
    ticket: Nullable(Type.String()),
    intent: Nullable(Type.String()),
    state: Type.String(),
    stateReason: Nullable(Type.String()),
    decision: Nullable(
      Type.Object({
        outcome: Type.String(),
        approval: Type.String(),
        reason: Type.String(),
        policies: Type.Array(Type.String()),
        maxDurationSeconds: Nullable(Type.Integer()),
      }),
    ),
    grantId: Nullable(Type.String()),
    createdAt: Time,
    updatedAt: Time,
  },
  {},
);

export const CredentialSchema = Type.Object(
  {
    fields: Type.Record(Type.String(), Type.String(), {
      description: "what the caller needs: token, username, password…",
    }),
    env: Type.Record(Type.String(), Type.String(), { description: "environment variables for `ephemera exec`" }),
  },
  {},
);

const Duration = Type.Union([Type.String({ maxLength: 32 }), Type.Integer()], {
  description: '"15m", "1h30m", "90s" or whole seconds',
});

export const CreateRequestBody = Type.Object(
  {
    entitlement: Type.String({ minLength: 1, maxLength: 200, description: "target/entitlement" }),
    duration: Type.Optional(Duration),
    justification: Type.Optional(Type.String({ maxLength: 2000 })),
    ticket: Type.Optional(Type.String({ maxLength: 200 })),
    intent: Type.Optional(Type.String({ maxLength: 2000 })),
    breakGlass: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateRequestBody = Static<typeof CreateRequestBody>;

export const RenewBody = Type.Object({ duration: Type.Optional(Duration) }, { additionalProperties: false });
export type RenewBody = Static<typeof RenewBody>;

export const EndBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$" }) });

export const GrantListQuery = Type.Object(
  {
    state: Type.Optional(Type.String({ pattern: "^[a-z_]+(,[a-z_]+)*$" })),
    identity: Type.Optional(Type.String({ maxLength: 128 })),
    target: Type.Optional(Type.String({ maxLength: 64 })),
    after: Type.Optional(Type.String({ maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  },
  { additionalProperties: false },
);
export type GrantListQuery = Static<typeof GrantListQuery>;

export const AuditEventSchema = Type.Object(
  {
    seq: Type.Integer(),
    id: Type.String(),
    time: Time,
    code: Type.String(),
    severity: Type.String(),
    outcome: Type.String(),
    actor: Type.Object({ type: Type.String(), id: Type.String() }),
    requestId: Nullable(Type.String()),
    grantId: Nullable(Type.String()),
    identityId: Nullable(Type.String()),
    data: Type.Record(Type.String(), Type.Unknown()),
    prevHash: Type.String(),
    hash: Type.String(),
  },
  {},
);
