// Audit events on the wire and the page /v1/audit answers.
import Type from "typebox";
import { Nullable, Time } from "./common.js";

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

/** `GET /v1/audit`. */
/** GET /v1/audit/export: a page of events as a SIEM reads them (jsonl: as stored, hashes included; or OCSF 1.1). */
export const AuditExportPageSchema = Type.Object({
  records: Type.Array(Type.Record(Type.String(), Type.Unknown())),
  /** Pass as `after` for the next page; null on the last page. */
  next: Type.Union([Type.Integer(), Type.Null()]),
});

export const AuditPageSchema = Type.Object({
  events: Type.Array(AuditEventSchema),
  /** Pass as `after` for the next page; null on the last page. */
  next: Type.Union([Type.Integer(), Type.Null()]),
});
