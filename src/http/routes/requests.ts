// /v1/requests: ask for an entitlement; read a request with its decision and grant.
import Type from "typebox";
import { loadOwnRequest } from "../../lifecycle/ownership.js";
import { requestAccess } from "../../lifecycle/request/request-access.js";
import { EphemeraError } from "../../support/errors.js";
import { presentGrant, presentRequest } from "../present.js";
import {
  CreateRequestBody,
  CredentialSchema,
  GrantSchema,
  IdParams,
  ProblemSchema,
  RequestSchema,
} from "../schemas.js";
import { type App, callerOf, type HttpServices, requestMeta } from "../server.js";

export function registerRequestRoutes(app: App, services: HttpServices): void {
  const { deps } = services;

  app.post(
    "/v1/requests",
    {
      schema: {
        summary: "Ask for an entitlement for one task",
        description:
          "201 with the grant and the credential when policy auto-approves; 403 when policy denies. The credential is shown once.",
        tags: ["requests"],
        body: CreateRequestBody,
        response: {
          201: Type.Object({ request: RequestSchema, grant: GrantSchema, credential: CredentialSchema }),
          "4xx": ProblemSchema,
          "5xx": ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const result = await requestAccess(deps, caller, request.body, requestMeta(request));
      if (result.outcome === "denied") {
        throw new EphemeraError("denied", result.request.decision?.reason ?? "denied by policy", {
          extensions: { requestId: result.request.id },
        });
      }
      services.onGrantDue(result.grant.expiresAt);
      reply.code(201).header("cache-control", "no-store");
      return {
        request: presentRequest(result.request),
        grant: presentGrant(result.grant),
        credential: { fields: result.credential.fields.reveal(), env: result.credential.env.reveal() },
      };
    },
  );

  app.get(
    "/v1/requests/:id",
    {
      schema: {
        summary: "A request, its decision and its grant",
        tags: ["requests"],
        params: IdParams,
        response: {
          200: Type.Object({ request: RequestSchema, grant: Type.Union([GrantSchema, Type.Null()]) }),
          "4xx": ProblemSchema,
        },
      },
    },
    async (request) => {
      const found = await loadOwnRequest(deps, callerOf(request), request.params.id);
      const grant = found.grantId ? await deps.store.getGrant(found.grantId) : null;
      return { request: presentRequest(found), grant: grant ? presentGrant(grant) : null };
    },
  );
}
