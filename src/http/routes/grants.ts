// /v1/grants: list and read grants; renew, complete and revoke one.
import type { FastifyRequest } from "fastify";
import Type from "typebox";
import type { GrantState } from "../../domain/index.js";
import {
  endGrantByCaller,
  grantTimeline,
  listGrants,
  loadOwnGrant,
  refuse,
  renewGrant,
} from "../../lifecycle/index.js";
import {
  AuditEventSchema,
  EndBody,
  GrantListQuery,
  GrantPageSchema,
  GrantSchema,
  IdParams,
  ProblemSchema,
  RenewBody,
  RenewResultSchema,
} from "../../wire/index.js";
import type { App } from "../app.js";
import { presentAuditEvent, presentGrant } from "../present.js";
import { callerOf, type HttpServices, requestMeta } from "../route-context.js";

const GRANT_STATES: readonly GrantState[] = ["issuing", "active", "revoking", "revoke_failed", "revoked", "verified"];

/** These bodies are optional: a POST with none means "no options". */
async function emptyBodyAsObject(request: FastifyRequest): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {};
}

export function registerGrantRoutes(app: App, services: HttpServices): void {
  const { deps } = services;
  const errors = { "4xx": ProblemSchema, "5xx": ProblemSchema };

  app.get(
    "/v1/grants",
    {
      schema: {
        summary: "Grants, filterable by state, identity and target",
        description: "Callers see their own grants; admins see all. Page with `after` = the last id seen.",
        tags: ["grants"],
        querystring: GrantListQuery,
        response: {
          200: GrantPageSchema,
          ...errors,
        },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const q = request.query;
      const states = q.state?.split(",") ?? [];
      const unknown = states.find((s) => !GRANT_STATES.includes(s as GrantState));
      if (unknown !== undefined) {
        throw await refuse(deps, caller, {
          auditCode: "request.rejected",
          errorCode: "invalid_request",
          message: `querystring.state: unknown state '${unknown}' (one of ${GRANT_STATES.join(", ")})`,
          extensions: { field: "querystring.state" },
        });
      }
      const { grants, next } = await listGrants(deps, caller, {
        limit: q.limit ?? 100,
        states: states as GrantState[],
        ...(q.identity !== undefined ? { identityId: q.identity } : {}),
        ...(q.target ? { targetId: q.target } : {}),
        ...(q.after ? { after: q.after } : {}),
      });
      return { grants: grants.map(presentGrant), next };
    },
  );

  app.get(
    "/v1/grants/:id",
    {
      schema: {
        summary: "A grant, with its removal state and evidence",
        tags: ["grants"],
        params: IdParams,
        response: { 200: GrantSchema, ...errors },
      },
    },
    async (request) => presentGrant(await loadOwnGrant(deps, callerOf(request), request.params.id)),
  );

  app.get(
    "/v1/grants/:id/events",
    {
      schema: {
        summary: "The audit events of one grant and of its request, in order: its timeline",
        description: "Readable by whoever may read the grant (its holder and admins). At most 1,000 events.",
        tags: ["grants"],
        params: IdParams,
        response: { 200: Type.Object({ events: Type.Array(AuditEventSchema) }), ...errors },
      },
    },
    async (request) => {
      const events = await grantTimeline(deps, callerOf(request), request.params.id);
      return { events: events.map(presentAuditEvent) };
    },
  );

  app.post(
    "/v1/grants/:id/renew",
    {
      preValidation: emptyBodyAsObject,
      schema: {
        summary: "Extend a grant; policy is asked again and the maximum is never passed",
        tags: ["grants"],
        params: IdParams,
        body: RenewBody,
        response: {
          200: RenewResultSchema,
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const result = await renewGrant(deps, callerOf(request), request.params.id, request.body, requestMeta(request));
      reply.header("cache-control", "no-store");
      return {
        grant: presentGrant(result.grant),
        credential: result.credential
          ? { fields: result.credential.fields.reveal(), env: result.credential.env.reveal() }
          : null,
        capped: result.capped,
      };
    },
  );

  for (const [action, reason, summary] of [
    ["complete", "completed", "End a grant because its task is done; returns once removal is verified"],
    ["revoke", "revoked", "End a grant by decision; returns once removal is verified"],
  ] as const) {
    app.post(
      `/v1/grants/:id/${action}`,
      {
        schema: {
          summary,
          tags: ["grants"],
          params: IdParams,
          body: EndBody,
          response: { 200: GrantSchema, ...errors },
        },
        preValidation: emptyBodyAsObject,
      },
      async (request) =>
        presentGrant(
          await endGrantByCaller(deps, callerOf(request), request.params.id, reason, request.body.reason ?? null),
        ),
    );
  }
}
