// What the broker reports about access as a whole: the privilege report, discovery (standing privilege in each
// target), the target list and admin-secret rotation.
import Type from "typebox";

const Seconds = Type.Union([Type.Number(), Type.Null()]);

/** `GET /v1/report`: grants issued in [from, to), how long access lasted, whether its removal was proven. */
export const PrivilegeReportSchema = Type.Object({
  from: Type.String({ format: "date-time" }),
  to: Type.String({ format: "date-time" }),
  grants: Type.Object({
    issued: Type.Integer({ description: "grants issued in [from, to)" }),
    /** Issued grants that have ended (their removal is due). */
    ended: Type.Integer({ description: "of those, grants that have ended" }),
    verifiedRemoval: Type.Integer({ description: "of those, grants whose removal was verified downstream" }),
    /** verifiedRemoval ÷ ended; null when none has ended. The goal is 1. */
    verifiedShare: Type.Union([Type.Number(), Type.Null()], {
      description: "verifiedRemoval ÷ ended (goal 1); null when none has ended",
    }),
    overrunsOver2s: Type.Integer({ description: "access that outlived its expiry by more than 2 s" }),
    /** Grants the target proves were never used: only a definitive observation (every use recorded) says so. */
    unused: Type.Integer({ description: "grants the target proves were never used (it records every use)" }),
    /** Ended grants whose use could have gone unseen (polled sessions, offline-verified tokens): `unused: null`. */
    usageNotObservable: Type.Integer({
      description: "ended grants whose use could have gone unseen (polled sessions, offline-verified tokens)",
    }),
    renewals: Type.Integer(),
  }),
  /** Issue → verified removal, nearest-rank; null when no removal in the range is verified. */
  privilegeSeconds: Type.Object(
    { median: Seconds, p99: Seconds },
    { description: "issue → verified removal, nearest-rank percentiles" },
  ),
  /** Accounts the broker does not manage, per target, at the last discovery run (empty before the first). */
  standing: Type.Array(Type.Object({ target: Type.String(), accounts: Type.Integer() }), {
    description: "accounts the broker does not manage, per target, at the last discovery run",
  }),
  /** When that discovery ran; null before the first. */
  discoveredAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
});

const StandingSchema = Type.Object({
  handle: Type.String(),
  privileges: Type.Array(Type.String()),
  admin: Type.Boolean({ description: "administers the target (superuser, +@all, administrator tag…)" }),
  broker: Type.Boolean({ description: "the account the broker itself logs in as" }),
});

/** One target's part of a reconciliation report. */
export const TargetDiscoverySchema = Type.Object({
  target: Type.String(),
  type: Type.String(),
  /** False when the target's accounts could not be listed; `error` says why. */
  ok: Type.Boolean({ description: "false when the target's accounts could not be listed" }),
  error: Type.Union([Type.String(), Type.Null()]),
  accounts: Type.Integer(),
  /** Broker-made accounts a live grant holds. */
  held: Type.Integer({ description: "broker-made accounts a live grant holds" }),
  /** Broker-made accounts no live grant held, removed by the run (they survived their window). */
  removed: Type.Array(Type.String(), {
    description: "broker-made accounts no live grant held, removed by this run (survived past window)",
  }),
  removeFailed: Type.Array(Type.Object({ handle: Type.String(), error: Type.String() })),
  /** Accounts the broker does not manage: standing privilege. */
  standing: Type.Array(StandingSchema, { description: "accounts the broker does not manage: standing privilege" }),
});

/** `GET` and `POST /v1/discovery`. */
export const DiscoveryReportSchema = Type.Object({
  generatedAt: Type.String({ format: "date-time" }),
  targets: Type.Array(TargetDiscoverySchema),
  totals: Type.Record(Type.String(), Type.Integer()),
});

/** One entry of `GET /v1/targets`. */
export const TargetSummarySchema = Type.Object({
  id: Type.String(),
  type: Type.String(),
  healthy: Type.Boolean(),
  lastRotation: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
});

/** `GET /v1/targets`. */
export const TargetListSchema = Type.Object({ targets: Type.Array(TargetSummarySchema) });

/** `POST /v1/targets/{target}/rotate`. */
export const RotationResultSchema = Type.Object({
  target: Type.String(),
  rotated: Type.Boolean(),
  detail: Type.String(),
  rotatedAt: Type.String(),
});
