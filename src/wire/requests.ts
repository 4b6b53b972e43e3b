// Access requests on the wire: the request with its decision, approvals and review; the bodies that ask, modify,
// approve, deny and review; and the credential handed out once.
import Type from "typebox";
import { Duration, Nullable, Time } from "./common.js";

/** What a task says it needs: a task id and its actions (an agent's intent). */
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

/** Quorum rules when approval is required: `count` approvers from `group`, every rule. */
const ApproversSchema = Type.Array(Type.Object({ group: Type.String(), count: Type.Integer() }));

export const DecisionSchema = Type.Object({
  outcome: Type.String(),
  /** `auto` or `required`. */
  approval: Type.String({ description: "auto or required" }),
  reason: Type.String(),
  policies: Type.Array(Type.String()),
  maxDurationSeconds: Nullable(Type.Integer()),
  approvers: ApproversSchema,
  flags: Type.Array(Type.String()),
  policyVersion: Nullable(Type.String()),
});

export const ApprovalSchema = Type.Object({
  approver: Type.String(),
  at: Time,
  groups: Type.Array(Type.String()),
  note: Nullable(Type.String()),
  /** False when the approval was given to an earlier version of the request: it no longer counts. */
  current: Type.Boolean({ description: "false when given to an earlier version of the request (void)" }),
});

export const ReviewSchema = Type.Object({
  dueAt: Time,
  reviewedBy: Nullable(Type.String()),
  reviewedAt: Time,
  outcome: Nullable(Type.String()),
  note: Nullable(Type.String()),
  overdue: Type.Boolean(),
});

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
    decision: Nullable(DecisionSchema),
    /** Send it back with `approve`: an approval binds to the exact request it saw. */
    requestHash: Type.String({ description: "what an approval binds to: send it back with POST …/approve" }),
    approvals: Type.Array(ApprovalSchema),
    /** When the request times out (pending, uncollected) or its break-glass review is due. */
    dueAt: Time,
    review: Nullable(ReviewSchema),
    grantId: Nullable(Type.String()),
    createdAt: Time,
    updatedAt: Time,
  },
  {},
);

/** What the broker hands out once: `fields` for code, `env` for `ephemera exec`. */
export const CredentialSchema = Type.Object(
  {
    fields: Type.Record(Type.String(), Type.String(), {
      description: "what the caller needs: token, username, password…",
    }),
    env: Type.Record(Type.String(), Type.String(), { description: "environment variables for `ephemera exec`" }),
  },
  {},
);

export const CreateRequestBody = Type.Object(
  {
    /** "target/entitlement", e.g. "demo-api/read". */
    entitlement: Type.String({ minLength: 1, maxLength: 200, description: "target/entitlement" }),
    duration: Type.Optional(Duration),
    justification: Type.Optional(Type.String({ maxLength: 2000 })),
    ticket: Type.Optional(Type.String({ maxLength: 200 })),
    /** Free text, or a task id and the actions it needs (carried into tokens as `authorization_details`). */
    intent: Type.Optional(IntentInput),
    /** Issue at once where policy permits `break_glass`; needs a justification, and is reviewed afterwards. */
    breakGlass: Type.Optional(
      Type.Boolean({ description: "issue at once where policy permits break_glass; needs a justification" }),
    ),
  },
  { additionalProperties: false },
);

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

/** `GET /v1/requests`. */
export const RequestPageSchema = Type.Object({
  requests: Type.Array(RequestSchema),
  next: Type.Union([Type.String(), Type.Null()]),
});
