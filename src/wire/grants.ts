// Grants on the wire: the grant, its removal evidence and receipt, and the bodies and pages of /v1/grants.
import Type from "typebox";
import { Duration, Nullable, Time } from "./common.js";
import { IntentInput } from "./requests.js";

/** What verification checked downstream, and what each check saw. */
export const EvidenceSchema = Type.Object({
  checkedAt: Time,
  checks: Type.Array(Type.Object({ check: Type.String(), passed: Type.Boolean(), observed: Type.String() })),
});

/**
 * `definitive`: the target records every use; `polled`: open sessions at each look (a short session between looks is
 * missed); `introspection`: tokens seen when introspected, never when verified offline; `none`: cannot show use.
 */
export const UsageObservationSchema = Type.Object(
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
);

/** What removal of a grant did and proved; handles and counts, never a secret. */
export const ReceiptSchema = Type.Object(
  {
    removed: Type.Array(Type.String(), { description: "what removal took away downstream, by handle" }),
    sessionsEnded: Nullable(Type.Object({ count: Type.Integer({ minimum: 0 }), ids: Type.Array(Type.String()) })),
    revokedAt: Time,
    verification: Nullable(EvidenceSchema),
    verifiedAt: Time,
    firstUsedAt: Time,
    lastUsedAt: Time,
    /**
     * True only when the target records every use and showed none; false: seen in use; null: use could have gone
     * unseen (sessions polled between looks, tokens verified offline) or the target cannot show use.
     */
    unused: Nullable(
      Type.Boolean({
        description:
          "true only when the target records every use and shows none; false when seen in use; null when use could have gone unseen",
      }),
    ),
    usageObservation: UsageObservationSchema,
  },
  { description: "The removal receipt: what was removed, which sessions were ended, what verification saw, and when" },
);

export const GrantStateSchema = Type.Union([
  Type.Literal("issuing"),
  Type.Literal("active"),
  Type.Literal("revoking"),
  Type.Literal("revoke_failed"),
  Type.Literal("revoked"),
  Type.Literal("verified"),
]);

export const GrantSchema = Type.Object(
  {
    id: Type.String(),
    requestId: Type.String(),
    identity: Type.String(),
    target: Type.String(),
    entitlement: Type.String(),
    connectorType: Type.String(),
    /** The downstream handle (username, token id, serial); never a secret. */
    handle: Type.String({ description: "the downstream handle (username, token id, serial); never a secret" }),
    state: GrantStateSchema,
    /** True only once removal was verified downstream. */
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
    /** First and last time the target showed the credential in use; null when never seen or it cannot tell. */
    firstUsedAt: Time,
    lastUsedAt: Time,
    /** Set once removal has started; complete (with `verification`) once removal is verified. */
    receipt: Nullable(ReceiptSchema),
  },
  {},
);

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

/** `GET /v1/grants`. */
export const GrantPageSchema = Type.Object({
  grants: Type.Array(GrantSchema),
  /** Pass as `after` for the next page; null on the last page. */
  next: Type.Union([Type.String(), Type.Null()]),
});

export const RenewBody = Type.Object(
  { duration: Type.Optional(Duration), intent: Type.Optional(IntentInput) },
  { additionalProperties: false },
);

export const EndBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
