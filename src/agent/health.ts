// The agent's local HTTP endpoints: GET /healthz (200 when every credential is held and its last attempt worked,
// else 503) and GET /metrics (Prometheus text). Bodies carry names, grant ids and times, never a credential.
import { createServer, type Server } from "node:http";
import type { KeeperStatus } from "./keeper.js";
import type { AgentMetrics } from "./metrics.js";

export interface HealthServer {
  /** The port listened on (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

export async function startHealthServer(
  listen: { readonly host: string; readonly port: number },
  statuses: () => readonly KeeperStatus[],
  metrics: AgentMetrics,
): Promise<HealthServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET") {
      response.writeHead(405, { allow: "GET" }).end();
      return;
    }
    if (path === "/healthz") {
      const credentials = statuses();
      const healthy = credentials.every((c) => c.state === "ok");
      response
        .writeHead(healthy ? 200 : 503, { "content-type": "application/json" })
        .end(JSON.stringify({ status: healthy ? "ok" : "unhealthy", credentials }));
      return;
    }
    if (path === "/metrics") {
      metrics.registry.metrics().then(
        (text) => response.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
        () => response.writeHead(500).end(),
      );
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : listen.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
