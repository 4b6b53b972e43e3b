// /v1/report: the privilege report for a time range (grants, privilege duration, verified removal, standing access).
// Admins only; the console shows the same JSON.
import Type from "typebox";
import { readPrivilegeReport } from "../../lifecycle/index.js";
import { PrivilegeReportSchema, ProblemSchema } from "../../wire/index.js";
import type { App } from "../app.js";
import { callerOf, type HttpServices, requestFacts } from "../route-context.js";

export function registerReportRoutes(app: App, services: HttpServices): void {
  const { deps } = services;

  app.get(
    "/v1/report",
    {
      schema: {
        summary: "The privilege report for a time range",
        description:
          "Grants issued in [from, to): how many, median and p99 privilege duration, share with verified removal, overruns beyond 2 s, unused grants, renewals; standing accounts per target from the last discovery run. `to` defaults to now, `from` to 24 hours before `to`.",
        tags: ["report"],
        querystring: Type.Object(
          {
            from: Type.Optional(Type.String({ maxLength: 40, description: "RFC 3339 date-time, inclusive" })),
            to: Type.Optional(Type.String({ maxLength: 40, description: "RFC 3339 date-time, exclusive" })),
          },
          { additionalProperties: false },
        ),
        response: { 200: PrivilegeReportSchema, "4xx": ProblemSchema },
      },
    },
    async (request) => {
      const report = await readPrivilegeReport(deps, callerOf(request), request.query, requestFacts(request));
      return { ...report, standing: report.standing.map((s) => ({ ...s })) };
    },
  );
}
