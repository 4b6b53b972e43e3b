// /v1/discovery and /v1/targets: what accounts exist in each target (standing privilege, survivors), and admin-secret
// rotation on demand. Admins only.
import Type, { type Static } from "typebox";
import { type DiscoveryReport, latestDiscovery } from "../../lifecycle/monitor/reconcile.js";
import { lastRotation, rotateTargetSecret } from "../../lifecycle/monitor/rotate-target-secret.js";
import { requireAdmin } from "../../lifecycle/queries/require-admin.js";
import { EphemeraError } from "../../support/errors.js";
import { DiscoveryReportSchema, ProblemSchema, RotationResultSchema, TargetListSchema } from "../schemas.js";
import { type App, callerOf, type HttpServices } from "../server.js";

export function registerDiscoveryRoutes(app: App, services: HttpServices): void {
  const { deps, maintenance } = services;
  const present = (report: DiscoveryReport): Static<typeof DiscoveryReportSchema> => ({
    generatedAt: new Date(report.generatedAt).toISOString(),
    totals: { ...report.totals },
    targets: report.targets.map((t) => ({
      ...t,
      removed: [...t.removed],
      removeFailed: t.removeFailed.map((f) => ({ ...f })),
      standing: t.standing.map((a) => ({ ...a, privileges: [...a.privileges] })),
    })),
  });

  app.get(
    "/v1/discovery",
    {
      schema: {
        summary: "The last reconciliation report: standing privilege and removed survivors in every target",
        description: "Reads only; 404 until a reconciliation has run (`POST /v1/discovery` runs one now).",
        tags: ["discovery"],
        response: { 200: DiscoveryReportSchema, "4xx": ProblemSchema },
      },
    },
    async (request) => {
      await requireAdmin(deps, callerOf(request), "discovery");
      const latest = await latestDiscovery(deps);
      if (!latest) {
        throw new EphemeraError("not_found", "no reconciliation has run yet; POST /v1/discovery runs one");
      }
      return present(latest);
    },
  );

  app.post(
    "/v1/discovery",
    {
      schema: {
        summary: "Reconcile every target now and return the report",
        tags: ["discovery"],
        response: { 200: DiscoveryReportSchema, "4xx": ProblemSchema },
      },
    },
    async (request) => {
      await requireAdmin(deps, callerOf(request), "discovery");
      return present(await maintenance.reconcile());
    },
  );

  app.get(
    "/v1/targets",
    {
      schema: {
        summary: "Configured targets, their health and last admin rotation",
        tags: ["targets"],
        response: {
          200: TargetListSchema,
          "4xx": ProblemSchema,
        },
      },
    },
    async (request) => {
      await requireAdmin(deps, callerOf(request), "the target list");
      const targets = [];
      for (const [id, connector] of services.connectors) {
        const last = await lastRotation(deps, id);
        targets.push({
          id,
          type: connector.type,
          healthy: await connector.healthy().catch(() => false),
          lastRotation: last ? new Date(last.rotatedAt).toISOString() : null,
        });
      }
      return { targets };
    },
  );

  app.post(
    "/v1/targets/:target/rotate",
    {
      schema: {
        summary: "Rotate the target's admin secret now",
        description:
          "The new secret is sealed in the store before the target changes and checked before it becomes current; a crash at any step leaves a working secret.",
        tags: ["targets"],
        params: Type.Object({ target: Type.String({ pattern: "^[a-z0-9][a-z0-9_-]{0,62}$" }) }),
        response: {
          200: RotationResultSchema,
          "4xx": ProblemSchema,
          "5xx": ProblemSchema,
        },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      await requireAdmin(deps, caller, "admin-secret rotation");
      const { target } = request.params;
      if (!services.connectors.has(target)) throw new EphemeraError("not_found", `no target '${target}' is configured`);
      const record = await rotateTargetSecret(deps, target, { type: "identity", id: caller.id });
      return {
        target,
        rotated: record.rotated,
        detail: record.detail,
        rotatedAt: new Date(record.rotatedAt).toISOString(),
      };
    },
  );
}
