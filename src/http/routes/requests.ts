// /v1/requests: ask for an entitlement; read a request with its decision and grant.
import Type from "typebox";
import { DPOP_WINDOW_SECONDS, DpopError, verifyDpopProof } from "../../connectors/token/dpop.js";
import type { Identity } from "../../domain/types.js";
import type { RequestMeta } from "../../lifecycle/deps.js";
import { loadOwnRequest } from "../../lifecycle/ownership.js";
import { refuse } from "../../lifecycle/refuse.js";
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
  const url = `${services.publicUrl ?? ""}/v1/requests`;

  /** A `DPoP` header proves the caller holds a key; the credential is then bound to it (RFC 9449). */
  async function proofOf(
    header: string | string[] | undefined,
    caller: Identity,
  ): Promise<NonNullable<RequestMeta["proof"]> | null> {
    if (header === undefined) return null;
    try {
      if (typeof header !== "string") throw new DpopError("malformed");
      const now = deps.clock.now();
      const proof = await verifyDpopProof(header, { method: "POST", url, now });
      return {
        binding: { jkt: proof.jkt, publicJwk: proof.publicJwk },
        replayKey: `${proof.jkt}:${proof.jti}`,
        until: (proof.iat + 2 * DPOP_WINDOW_SECONDS) * 1000,
      };
    } catch (error) {
      if (!(error instanceof DpopError)) throw error;
      throw await refuse(deps, caller, {
        auditCode: "request.rejected",
        errorCode: "invalid_dpop_proof",
        message: error.message,
        data: { field: "dpop", reason: error.reason },
        extensions: { field: "dpop" },
      });
    }
  }

  app.post(
    "/v1/requests",
    {
      schema: {
        summary: "Ask for an entitlement for one task",
        description:
          "201 with the grant and the credential when policy auto-approves; 403 when policy denies. The credential is " +
          "shown once. A workload token obtains one decision: a second request with it is 401 token_replayed. An " +
          "optional `DPoP` header (RFC 9449 proof for this URL) binds the credential to the caller's key. With an " +
          "`Idempotency-Key` header (1–255 printable characters, scoped to the caller, kept 24 h) a retry with the " +
          "same key and body answers 200 with the first request and its grant as they are now and `credential: null` " +
          "(the broker never stores a credential), on any replica; exactly one grant is made however many retries " +
          "race. The same key with another body is refused with 422.",
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
      const meta: RequestMeta = {
        ...requestMeta(request),
        proof: await proofOf(request.headers.dpop, caller),
        idempotencyKey: request.headers["idempotency-key"],
      };
      const result = await requestAccess(deps, caller, request.body, meta);
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
