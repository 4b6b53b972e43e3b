// The identity inventory on the wire: an identity with its status and sightings, its page, and what offboarding did.
import Type from "typebox";
import { Time } from "./common.js";

/** An identity in the inventory (`GET /v1/identities`): definition, status and why, sightings, active grants. */
export const IdentitySchema = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  owner: Type.Union([Type.String(), Type.Null()]),
  /** A non-human identity nobody answers for. */
  unowned: Type.Boolean({ description: "a non-human identity nobody answers for" }),
  groups: Type.Array(Type.String()),
  attributes: Type.Record(Type.String(), Type.String()),
  admin: Type.Boolean(),
  status: Type.String({ description: "active, dormant or offboarded" }),
  statusReason: Type.Union([Type.String(), Type.Null()]),
  source: Type.String({ description: "config, or the trust rule that first admitted it (authenticator:rule)" }),
  firstSeenAt: Time,
  lastSeenAt: Time,
  createdAt: Type.String({ format: "date-time" }),
  updatedAt: Type.String({ format: "date-time" }),
  activeGrants: Type.Integer(),
  activeGrantIds: Type.Array(Type.String()),
});

/** `GET /v1/identities`. */
export const IdentityPageSchema = Type.Object({
  identities: Type.Array(IdentitySchema),
  next: Type.Union([Type.String(), Type.Null()]),
});

/** What `POST /v1/identities/{id}/offboard` reports. */
export const OffboardResultSchema = Type.Object({
  identity: IdentitySchema,
  /** Carried by the `identity.offboarded` event and every grant end and cancellation it caused; null when nothing changed. */
  correlationId: Type.Union([Type.String(), Type.Null()]),
  changed: Type.Boolean(),
  grants: Type.Array(Type.Object({ id: Type.String(), target: Type.String(), state: Type.String() })),
  /** Ended grants whose removal is not verified yet (the scheduler retries them). */
  removalsPending: Type.Integer({ description: "ended grants whose removal is not yet verified" }),
  cancelledRequests: Type.Array(Type.String()),
  inProgress: Type.Array(Type.Object({ id: Type.String(), state: Type.String() })),
});
