// /v1/discovery and /v1/targets: what accounts exist in each target (standing privilege, survivors), and admin-secret
// rotation on demand. Admins only.
import Type, { type Static } from "typebox";
import { type DiscoveryReport, listTargets, readDiscovery, rotateTargetSecret } from "../../lifecycle/index.js";
import { DiscoveryReportSchema, ProblemSchema, RotationResultSchema, TargetListSchema } from "../../wire/index.js";
import type { App } from "../app.js";
import { callerOf, type HttpServices, requestFacts } from "../route-context.js";

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
      return present(await readDiscovery(deps, callerOf(request), requestFacts(request)));
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
      return present(await maintenance.reconcileFor(callerOf(request), requestFacts(request)));
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
      const targets = await listTargets(deps, callerOf(request), services.connectors, requestFacts(request));
      return {
        targets: targets.map((t) => ({
          ...t,
          lastRotation: t.lastRotation === null ? null : new Date(t.lastRotation).toISOString(),
        })),
      };
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
      const { target } = request.params;
      const record = await rotateTargetSecret(deps, callerOf(request), target, requestFacts(request));
      return {
        target,
        rotated: record.rotated,
        detail: record.detail,
        rotatedAt: new Date(record.rotatedAt).toISOString(),
      };
    },
  );
}
