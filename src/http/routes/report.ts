// /v1/report: the privilege report for a time range (grants, privilege duration, verified removal, standing access).
// Admins only; the console shows the same JSON.
import Type from "typebox";
import type { Identity } from "../../domain/types.js";
import { privilegeReport } from "../../lifecycle/monitor/report.js";
import { requireAdmin } from "../../lifecycle/queries/require-admin.js";
import { EphemeraError } from "../../support/errors.js";
import { PrivilegeReportSchema, ProblemSchema } from "../schemas.js";
import { type App, callerOf, type HttpServices } from "../server.js";

/** Without `from`, the report covers the day before `to`. */
export const DEFAULT_REPORT_SPAN_MS = 24 * 3600 * 1000;

function instant(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) {
    throw new EphemeraError("invalid_request", `${field}: must be an RFC 3339 date-time such as 2026-01-31T00:00:00Z`, {
      extensions: { field },
    });
  }
  return ms;
}

export function registerReportRoutes(app: App, services: HttpServices): void {
  const { deps } = services;
  const adminOnly = (caller: Identity) => requireAdmin(deps, caller, "the privilege report");

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
      await adminOnly(callerOf(request));
      const to = instant(request.query.to, "to") ?? deps.clock.now();
      const from = instant(request.query.from, "from") ?? to - DEFAULT_REPORT_SPAN_MS;
      if (from >= to) {
        throw new EphemeraError("invalid_request", "from: must be before to", { extensions: { field: "from" } });
      }
      const report = await privilegeReport(deps, { from, to });
      return { ...report, standing: report.standing.map((s) => ({ ...s })) };
    },
  );
}
