// /v1/entitlements: what the caller may ask for, as policy decides it now for the caller's own call (not a copy of the
// rules): each entitlement policy permits, with its maximum duration and whether approvers must agree. An AI agent's
// tools list it before asking.
import Type from "typebox";
import type { Intent } from "../../domain/index.js";
import { intentOf } from "../../domain/index.js";
import { requestableEntitlements } from "../../lifecycle/index.js";
import { EntitlementListSchema, ProblemSchema } from "../../wire/index.js";
import type { App } from "../app.js";
import { callerOf, type HttpServices, requestMeta } from "../route-context.js";

const EntitlementListQuery = Type.Object(
  {
    justification: Type.Optional(Type.String({ maxLength: 2000 })),
    ticket: Type.Optional(Type.String({ maxLength: 200 })),
    task: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    actions: Type.Optional(Type.String({ maxLength: 4000, pattern: "^[A-Za-z0-9_.:/*-]+(,[A-Za-z0-9_.:/*-]+)*$" })),
  },
  { additionalProperties: false },
);

export function registerEntitlementRoutes(app: App, services: HttpServices): void {
  const { deps } = services;

  app.get(
    "/v1/entitlements",
    {
      schema: {
        summary: "What the caller may ask for",
        description:
          "Every configured entitlement policy permits the caller to request now, asked as a request with the " +
          "entitlement's default duration and the caller's own call (client, address, claims). Policies that depend " +
          "on what the request says can be asked with `justification`, `ticket`, `task` and `actions` " +
          "(comma-separated): an entitlement that needs a justification is listed only when one is given. " +
          "Nothing is recorded; a request may still be decided otherwise (a policy reload, the time of day).",
        tags: ["requests"],
        querystring: EntitlementListQuery,
        response: { 200: EntitlementListSchema, "4xx": ProblemSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const q = request.query;
      const intent: Intent | null =
        q.task === undefined && q.actions === undefined
          ? null
          : intentOf({ ...(q.task ? { task: q.task } : {}), actions: q.actions?.split(",") ?? [] });
      const allowed = requestableEntitlements(
        deps,
        caller,
        services.entitlementNames ?? [],
        { justification: q.justification ?? null, ticket: q.ticket ?? null, intent },
        requestMeta(request),
      );
      const entitlements = allowed.map(({ entitlement, maxDurationSeconds, decision }) => ({
        name: entitlement.name,
        target: entitlement.targetId,
        risk: entitlement.risk,
        defaultDurationSeconds: entitlement.defaultDurationSeconds,
        maxDurationSeconds,
        approval: decision.approval,
        approvers: (decision.approvers ?? []).map((r) => ({ group: r.group, count: r.count })),
        policies: [...decision.determiningPolicies],
      }));
      return { entitlements };
    },
  );
}
