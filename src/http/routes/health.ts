// Liveness, readiness and Prometheus metrics.
import type { App } from "../app.js";
import type { HttpServices } from "../route-context.js";

export function registerHealthRoutes(app: App, services: HttpServices): void {
  app.get("/healthz", { schema: { summary: "Liveness", tags: ["health"], security: [] } }, async () => ({
    status: "ok",
  }));

  app.get(
    "/readyz",
    { schema: { summary: "Readiness: store and targets answer", tags: ["health"], security: [] } },
    async (_r, reply) => {
      const { ready, checks } = await services.readiness();
      reply.code(ready ? 200 : 503);
      return { status: ready ? "ready" : "not_ready", checks };
    },
  );

  app.get(
    "/metrics",
    { schema: { summary: "Prometheus metrics", tags: ["health"], security: [] } },
    async (_r, reply) => {
      reply.type(services.metrics.registry.contentType);
      return services.metrics.registry.metrics();
    },
  );
}
