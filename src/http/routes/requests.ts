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
import { type App, callerOf, type HttpServices } from "../server.js";

export function registerRequestRoutes(app: App, services: HttpServices): void {
  const { deps } = services;

  app.post(
    "/v1/requests",
    {
      schema: {
        summary: "Ask for an entitlement for one task",
        description:
          "201 with the grant and the credential when policy auto-approves; 403 when policy denies. The credential is " +
          "shown once. With an `Idempotency-Key` header (1–255 printable characters, scoped to the caller, kept 24 h) " +
          "a retry with the same key and body answers 200 with the first request and its grant as they are now and " +
          "`credential: null` (the broker never stores a credential), on any replica; exactly one grant is made however " +
          "many retries race. The same key with another body is refused with 422.",
        tags: ["requests"],
        body: CreateRequestBody,
        headers: Type.Object({ "idempotency-key": Type.Optional(Type.String()) }),
        response: {
          200: Type.Object({
            request: RequestSchema,
            grant: Type.Union([GrantSchema, Type.Null()]),
            credential: Type.Null(),
          }),
          201: Type.Object({ request: RequestSchema, grant: GrantSchema, credential: CredentialSchema }),
          "4xx": ProblemSchema,
          "5xx": ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const result = await requestAccess(deps, caller, request.body, {
        sourceAddress: request.ip,
        idempotencyKey: request.headers["idempotency-key"],
      });
      if (result.outcome === "denied") {
        throw new EphemeraError("denied", result.request.decision?.reason ?? "denied by policy", {
          extensions: { requestId: result.request.id },
        });
      }
      if (result.outcome === "replayed") {
        reply.code(200).header("cache-control", "no-store").header("idempotent-replayed", "true");
        return {
          request: presentRequest(result.request),
          grant: result.grant ? presentGrant(result.grant) : null,
          credential: null,
        };
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
