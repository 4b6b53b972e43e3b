// /v1/identities: the inventory of identities (kind, owner, status, sightings, active grants); reactivate and offboard.
import Type from "typebox";
import {
  type InventoryEntry,
  inventoryEntry,
  listIdentities,
  offboardIdentity,
  reactivateIdentity,
  readIdentity,
} from "../../lifecycle/index.js";
import { IdentityPageSchema, IdentitySchema, OffboardResultSchema, ProblemSchema } from "../../wire/index.js";
import type { App } from "../app.js";
import { iso } from "../present.js";
import { callerOf, type HttpServices, requestFacts } from "../route-context.js";

const IdentityParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128, pattern: "^[a-z0-9][a-z0-9._@-]{0,127}$" }),
});
const ReasonBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 500, description: "why; kept in the audit trail" }) },
  { additionalProperties: false },
);

export function presentIdentity(entry: InventoryEntry) {
  const i = entry.identity;
  return {
    id: i.id,
    kind: i.kind,
    owner: i.owner,
    unowned: entry.unowned,
    groups: [...i.groups],
    attributes: { ...i.attributes },
    admin: i.admin,
    status: i.status,
    statusReason: i.statusReason,
    source: i.source,
    firstSeenAt: iso(i.firstSeenAt),
    lastSeenAt: iso(i.lastSeenAt),
    createdAt: new Date(i.createdAt).toISOString(),
    updatedAt: new Date(i.updatedAt).toISOString(),
    activeGrants: entry.activeGrantIds.length,
    activeGrantIds: [...entry.activeGrantIds],
  };
}

export function registerIdentityRoutes(app: App, services: HttpServices): void {
  const { deps } = services;
  const errors = { "4xx": ProblemSchema, "5xx": ProblemSchema };

  app.get(
    "/v1/identities",
    {
      schema: {
        summary: "The identity inventory, filterable by status, kind, owner and ownership",
        description: "Admins only. Identities come in id order; page with `after` = the `next` of the previous page.",
        tags: ["identities"],
        querystring: Type.Object(
          {
            status: Type.Optional(Type.String({ pattern: "^[a-z_]+(,[a-z_]+)*$" })),
            kind: Type.Optional(Type.String({ pattern: "^[a-z_]+(,[a-z_]+)*$" })),
            owner: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            unowned: Type.Optional(Type.Boolean({ description: "true: only non-human identities without an owner" })),
            after: Type.Optional(Type.String({ maxLength: 128 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: IdentityPageSchema,
          ...errors,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await listIdentities(
        deps,
        callerOf(request),
        {
          limit: q.limit ?? 100,
          statuses: q.status === undefined ? [] : q.status.split(","),
          kinds: q.kind === undefined ? [] : q.kind.split(","),
          ...(q.owner !== undefined ? { owner: q.owner } : {}),
          ...(q.unowned !== undefined ? { unowned: q.unowned } : {}),
          ...(q.after !== undefined ? { after: q.after } : {}),
        },
        requestFacts(request),
      );
      return { identities: page.entries.map(presentIdentity), next: page.next };
    },
  );

  app.get(
    "/v1/identities/:id",
    {
      schema: {
        summary: "One identity: definition, status and why, first and last seen, active grants",
        tags: ["identities"],
        params: IdentityParams,
        response: { 200: IdentitySchema, ...errors },
      },
    },
    async (request) => {
      return presentIdentity(await readIdentity(deps, callerOf(request), request.params.id, requestFacts(request)));
    },
  );

  app.post(
    "/v1/identities/:id/reactivate",
    {
      schema: {
        summary: "Bring a dormant identity back; an offboarded one is never reactivated",
        tags: ["identities"],
        params: IdentityParams,
        body: ReasonBody,
        response: { 200: IdentitySchema, ...errors },
      },
    },
    async (request) => {
      const facts = requestFacts(request);
      const identity = await reactivateIdentity(deps, callerOf(request), request.params.id, request.body.reason, facts);
      return presentIdentity(await inventoryEntry(deps, identity));
    },
  );

  app.post(
    "/v1/identities/:id/offboard",
    {
      schema: {
        summary: "Disable an identity for good, end every grant it holds and cancel its open requests",
        description:
          "Idempotent. Returns once each ended grant's removal is verified or has failed (failed removals are retried by the scheduler and listed with state revoke_failed).",
        tags: ["identities"],
        params: IdentityParams,
        body: ReasonBody,
        response: {
          200: OffboardResultSchema,
          ...errors,
        },
      },
    },
    async (request) => {
      const facts = requestFacts(request);
      const result = await offboardIdentity(deps, callerOf(request), request.params.id, request.body.reason, facts);
      return {
        identity: presentIdentity(await inventoryEntry(deps, result.identity)),
        correlationId: result.correlationId,
        changed: result.changed,
        grants: result.grants.map((g) => ({ ...g })),
        removalsPending: result.grants.filter((g) => g.state !== "verified").length,
        cancelledRequests: [...result.cancelledRequests],
        inProgress: result.inProgress.map((g) => ({ ...g })),
      };
    },
  );
}
