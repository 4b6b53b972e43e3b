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

export const ReceiptSchema = Type.Object(
  {
    removed: Type.Array(Type.String(), { description: "what removal took away downstream, by handle" }),
    sessionsEnded: Nullable(Type.Object({ count: Type.Integer({ minimum: 0 }), ids: Type.Array(Type.String()) })),
    revokedAt: Time,
    verification: Nullable(EvidenceSchema),
    verifiedAt: Time,
    firstUsedAt: Time,
    lastUsedAt: Time,
    unused: Nullable(
      Type.Boolean({
        description:
          "true only when the target records every use and shows none; false when seen in use; null when use could have gone unseen",
      }),
    ),
    usageObservation: Type.Object(
      {
        method: Type.Union([
          Type.Literal("definitive"),
          Type.Literal("polled"),
          Type.Literal("introspection"),
          Type.Literal("none"),
        ]),
        detail: Type.String(),
      },
      { description: "how use was looked for, and so what `unused` can rest on" },
    ),
  },
  { description: "The removal receipt: what was removed, which sessions were ended, what verification saw, and when" },
);

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
    firstUsedAt: Time,
    lastUsedAt: Time,
    receipt: Nullable(ReceiptSchema),
  },
  {},
);

export const IntentSchema = Type.Object({
  task: Nullable(Type.String()),
  actions: Type.Array(Type.String()),
  description: Nullable(Type.String()),
});

/** A plain string (kept for compatibility) or a task id with the actions it needs. */
export const IntentInput = Type.Union([
  Type.String({ maxLength: 2000 }),
  Type.Object(
    {
      task: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      actions: Type.Optional(
        Type.Array(Type.String({ minLength: 1, maxLength: 200, pattern: "^[A-Za-z0-9_.:/*-]+$" }), { maxItems: 100 }),
      ),
      description: Type.Optional(Type.String({ maxLength: 2000 })),
    },
    { additionalProperties: false },
  ),
]);

export const RequestSchema = Type.Object(
  {
    id: Type.String(),
    identity: Type.String(),
    entitlement: Type.String(),
    durationSeconds: Type.Integer(),
    justification: Nullable(Type.String()),
    ticket: Nullable(Type.String()),
    intent: Nullable(IntentSchema),
    breakGlass: Type.Boolean(),
    state: Type.String(),
    stateReason: Nullable(Type.String({ description: "why it ended where it did: denial, timeout, voided approvals" })),
    decision: Nullable(
      Type.Object({
        outcome: Type.String(),
        approval: Type.String({ description: "auto or required" }),
        reason: Type.String(),
        policies: Type.Array(Type.String()),
        maxDurationSeconds: Nullable(Type.Integer()),
        approvers: Type.Array(Type.Object({ group: Type.String(), count: Type.Integer() })),
        flags: Type.Array(Type.String()),
        policyVersion: Nullable(Type.String()),
      }),
    ),
    requestHash: Type.String({ description: "what an approval binds to: send it back with POST …/approve" }),
    approvals: Type.Array(
      Type.Object({
        approver: Type.String(),
        at: Time,
        groups: Type.Array(Type.String()),
        note: Nullable(Type.String()),
        current: Type.Boolean({ description: "false when given to an earlier version of the request (void)" }),
      }),
    ),
    dueAt: Time,
    review: Nullable(
      Type.Object({
        dueAt: Time,
        reviewedBy: Nullable(Type.String()),
        reviewedAt: Time,
        outcome: Nullable(Type.String()),
        note: Nullable(Type.String()),
        overdue: Type.Boolean(),
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
    intent: Type.Optional(IntentInput),
    breakGlass: Type.Optional(
      Type.Boolean({ description: "issue at once where policy permits break_glass; needs a justification" }),
    ),
  },
  { additionalProperties: false },
);
export type CreateRequestBody = Static<typeof CreateRequestBody>;

export const ModifyRequestBody = Type.Object(
  {
    duration: Type.Optional(Duration),
    justification: Type.Optional(Type.String({ maxLength: 2000 })),
    ticket: Type.Optional(Type.String({ maxLength: 200 })),
    intent: Type.Optional(IntentInput),
  },
  { additionalProperties: false },
);

export const ApproveBody = Type.Object(
  {
    requestHash: Type.String({ pattern: "^sha256:[0-9a-f]{64}$", description: "the requestHash the approver saw" }),
    note: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);

export const DenyBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);

export const ReviewBody = Type.Object(
  {
    outcome: Type.Union([Type.Literal("justified"), Type.Literal("unjustified")]),
    note: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

export const RequestListQuery = Type.Object(
  {
    state: Type.Optional(Type.String({ pattern: "^[a-z_]+(,[a-z_]+)*$" })),
    identity: Type.Optional(Type.String({ maxLength: 128 })),
    after: Type.Optional(Type.String({ maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  },
  { additionalProperties: false },
);

export const RenewBody = Type.Object(
  { duration: Type.Optional(Duration), intent: Type.Optional(IntentInput) },
  { additionalProperties: false },
);
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
