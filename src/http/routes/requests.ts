// /v1/requests: ask for an entitlement; read and list requests; the approval workflow (approve, deny, cancel, modify,
// collect the credential, review a break-glass use).
import Type, { type Static, type TSchema } from "typebox";
import type { AccessRequest, Identity, RequestState } from "../../domain/index.js";
import { DPOP_WINDOW_SECONDS, DpopError, verifyDpopProof } from "../../identity/index.js";
import type { IssuedGrant, RequestMeta } from "../../lifecycle/index.js";
import {
  approveRequest,
  cancelRequest,
  collectCredential,
  denyRequest,
  listRequests,
  modifyRequest,
  readRequest,
  refuse,
  requestAccess,
  requestTimeline,
  reviewBreakGlass,
} from "../../lifecycle/index.js";
import { EphemeraError } from "../../support/index.js";
import {
  ApproveBody,
  AuditEventSchema,
  CreateRequestBody,
  DenyBody,
  IdParams,
  ModifyRequestBody,
  PendingResultSchema,
  ProblemSchema,
  ReplayedResultSchema,
  RequestListQuery,
  RequestPageSchema,
  RequestResultSchema,
  RequestSchema,
  RequestViewSchema,
  ReviewBody,
} from "../../wire/index.js";
import type { App } from "../app.js";
import { presentAuditEvent, presentGrant, presentRequest } from "../present.js";
import { callerOf, type HttpServices, requestMeta } from "../route-context.js";

const REQUEST_STATES: readonly RequestState[] = [
  "pending",
  "approved",
  "denied",
  "cancelled",
  "timed_out",
  "issued",
  "failed",
];
const errors = { "4xx": ProblemSchema, "5xx": ProblemSchema };
interface RequestAction {
  readonly method: "POST" | "PATCH";
  /** After `/v1/requests/:id`. */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly body: TSchema | null;
  readonly run: (caller: Identity, id: string, body: unknown) => Promise<AccessRequest>;
}

/** A freshly issued grant with its credential: shown this once, never stored. */
function presentIssued(issued: IssuedGrant): Static<typeof RequestResultSchema> {
  return {
    request: presentRequest(issued.request),
    grant: presentGrant(issued.grant),
    credential: { fields: issued.credential.fields.reveal(), env: issued.credential.env.reveal() },
  };
}

export function registerRequestRoutes(app: App, services: HttpServices): void {
  const { deps } = services;
  const base = `${services.publicUrl ?? ""}/v1/requests`;

  /** A `DPoP` header proves the caller holds a key; the credential is then bound to it (RFC 9449). */
  async function proofOf(
    header: string | string[] | undefined,
    caller: Identity,
    url: string,
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
          "201 with the grant and the credential when policy auto-approves (or permits break-glass); 202 with the " +
          "request when approvers must agree first (collect the credential with POST …/credential once approved); 403 " +
          "when policy denies. The credential is shown once. A workload token obtains one decision: a second request " +
          "with it is 401 token_replayed. An optional `DPoP` header (RFC 9449 proof for this URL) binds the " +
          "credential to the caller's key. With an `Idempotency-Key` header (1–255 printable characters, scoped to " +
          "the caller, kept 24 h) a retry with the same key and body answers what the first attempt made, on any " +
          "replica: 200 with the request and its grant as they are now and `credential: null` (the broker never " +
          "stores a credential), or 202 while it is pending; exactly one request is made however many retries race. " +
          "The same key with another body is refused with 422.",
        tags: ["requests"],
        body: CreateRequestBody,
        headers: Type.Object({ "idempotency-key": Type.Optional(Type.String()) }),
        response: {
          200: ReplayedResultSchema,
          201: RequestResultSchema,
          202: PendingResultSchema,
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const meta: RequestMeta = {
        ...requestMeta(request),
        proof: await proofOf(request.headers.dpop, caller, base),
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
      if (result.outcome === "pending") {
        reply.code(202);
        return { request: presentRequest(result.request) };
      }
      reply.code(201).header("cache-control", "no-store");
      return presentIssued(result);
    },
  );

  app.get(
    "/v1/requests",
    {
      schema: {
        summary: "Requests: your own, and those you may approve",
        description:
          "`?state=pending` is the approver's queue: pending requests the caller may approve (never their own), plus the caller's own. Admins see every request. Page with `after` = the last id seen.",
        tags: ["requests"],
        querystring: RequestListQuery,
        response: {
          200: RequestPageSchema,
          ...errors,
        },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const q = request.query;
      const states = q.state?.split(",") ?? [];
      const unknown = states.find((s) => !REQUEST_STATES.includes(s as RequestState));
      if (unknown !== undefined) {
        throw await refuse(deps, caller, {
          auditCode: "request.rejected",
          errorCode: "invalid_request",
          message: `querystring.state: unknown state '${unknown}' (one of ${REQUEST_STATES.join(", ")})`,
          extensions: { field: "querystring.state" },
        });
      }
      const { requests, next } = await listRequests(deps, caller, {
        limit: q.limit ?? 100,
        states: states as RequestState[],
        ...(q.identity ? { identityId: q.identity } : {}),
        ...(q.after ? { after: q.after } : {}),
      });
      return { requests: requests.map(presentRequest), next };
    },
  );

  app.get(
    "/v1/requests/:id",
    {
      schema: {
        summary: "A request, its decision, approvals and grant",
        description:
          "Readable by its requester, admins, and anyone who may approve it (approvers read it before approving).",
        tags: ["requests"],
        params: IdParams,
        response: {
          200: RequestViewSchema,
          ...errors,
        },
      },
    },
    async (request) => {
      const view = await readRequest(deps, callerOf(request), request.params.id);
      const asker = view.requester;
      return {
        request: presentRequest(view.request),
        grant: view.grant ? presentGrant(view.grant) : null,
        requester: asker ? { id: asker.id, kind: asker.kind, owner: asker.owner ?? null } : null,
      };
    },
  );

  app.get(
    "/v1/requests/:id/events",
    {
      schema: {
        summary: "The audit events of one request and of its grant, in order: its timeline",
        description:
          "Readable by whoever may read the request (its requester, admins, its approvers and reviewers): from the " +
          "request through the decision, approvals, issue, use and removal. At most 1,000 events.",
        tags: ["requests"],
        params: IdParams,
        response: { 200: Type.Object({ events: Type.Array(AuditEventSchema) }), ...errors },
      },
    },
    async (request) => {
      const events = await requestTimeline(deps, callerOf(request), request.params.id);
      return { events: events.map(presentAuditEvent) };
    },
  );

  // The approval workflow's actions on one request: each answers with the request as it is afterwards.
  const actions: readonly RequestAction[] = [
    {
      method: "PATCH",
      path: "",
      summary: "Change a pending request; approvals given to the earlier version stop counting",
      body: ModifyRequestBody,
      run: (caller, id, body) => modifyRequest(deps, caller, id, body as Static<typeof ModifyRequestBody>),
    },
    {
      method: "POST",
      path: "/approve",
      summary: "Approve the exact request you saw (its requestHash)",
      description:
        "409 request_changed when the request changed since; 403 approval_refused for self-approval, the owner of the identity when policy forbids it, or no approve right.",
      body: ApproveBody,
      run: (caller, id, body) => approveRequest(deps, caller, id, body as Static<typeof ApproveBody>),
    },
    {
      method: "POST",
      path: "/deny",
      summary: "Deny a pending request (approvers only)",
      body: DenyBody,
      run: (caller, id, body) => denyRequest(deps, caller, id, (body ?? {}) as Static<typeof DenyBody>),
    },
    {
      method: "POST",
      path: "/cancel",
      summary: "Withdraw a pending or uncollected request (its requester, or an admin)",
      body: null,
      run: (caller, id) => cancelRequest(deps, caller, id),
    },
    {
      method: "POST",
      path: "/review",
      summary: "Record the mandatory review of a break-glass use (an approver, never the requester)",
      body: ReviewBody,
      run: (caller, id, body) => reviewBreakGlass(deps, caller, id, body as Static<typeof ReviewBody>),
    },
  ];
  for (const action of actions) {
    app.route({
      method: action.method,
      url: `/v1/requests/:id${action.path}`,
      // An optional body: a POST with none means "no options".
      preValidation: async (req) => {
        if (action.body !== null && (req.body === undefined || req.body === null)) req.body = {};
      },
      schema: {
        summary: action.summary,
        ...(action.description ? { description: action.description } : {}),
        tags: ["requests"],
        params: IdParams,
        ...(action.body ? { body: action.body } : {}),
        response: { 200: Type.Object({ request: RequestSchema }), ...errors },
      },
      handler: async (request) => ({
        request: presentRequest(
          await action.run(callerOf(request), (request.params as { id: string }).id, request.body),
        ),
      }),
    });
  }

  app.post(
    "/v1/requests/:id/credential",
    {
      schema: {
        summary: "Collect the credential of an approved request, once (its requester only)",
        description:
          "Policy and every approver's right are checked again; the grant's clock starts now. Collecting issues: a " +
          "workload token presented here is used up like one presented to POST /v1/requests, and a `DPoP` proof " +
          "for this URL binds the credential to the caller's key.",
        tags: ["requests"],
        params: IdParams,
        response: { 201: RequestResultSchema, ...errors },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const meta: RequestMeta = {
        ...requestMeta(request),
        proof: await proofOf(request.headers.dpop, caller, `${base}/${request.params.id}/credential`),
      };
      const result = await collectCredential(deps, caller, request.params.id, meta);
      reply.code(201).header("cache-control", "no-store");
      return presentIssued(result);
    },
  );
}
