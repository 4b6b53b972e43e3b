// A tiny stand-in for the broker's HTTP API on 127.0.0.1:0, for client and CLI tests: real HTTP, canned behaviour.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { AuditVerification, Grant, GrantState } from "../types.js";

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  /** Sent as is when a string; default application/json (application/problem+json for 4xx/5xx). */
  readonly contentType?: string;
}

export type Handler = (request: RecordedRequest) => Reply | "hang" | Promise<Reply | "hang">;

export interface FakeBroker {
  readonly url: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startFakeBroker(handler: Handler): Promise<FakeBroker> {
  const requests: RecordedRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const recorded = {
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      body: Buffer.concat(chunks).toString(),
    };
    requests.push(recorded);
    const reply = await handler(recorded);
    if (reply === "hang") {
      hanging.add(res);
      return;
    }
    const text =
      typeof reply.body === "string" ? reply.body : reply.body === undefined ? "" : JSON.stringify(reply.body);
    const type = reply.contentType ?? (reply.status >= 400 ? "application/problem+json" : "application/json");
    res.writeHead(reply.status, { "content-type": type }).end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function problem(status: number, code: string, detail: string, extensions: Record<string, unknown> = {}): Reply {
  return {
    status,
    body: { type: `urn:ephemera:problem:${code}`, title: code, status, detail, code, ...extensions },
  };
}

export const GOOD_KEY = "ephk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
export const ADMIN_KEY = "ephk_fedcba9876543210_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

export interface ImitationState {
  readonly grants: Map<string, Grant>;
  /** What GET /v1/audit/verify answers. */
  verification: AuditVerification;
  /** When set, POST …/complete answers with this instead. */
  completeReply: Reply | null;
}

/** A stateful imitation of the API's main routes: `demo-api/read` is granted, anything else is denied. */
export function imitateApi(): { state: ImitationState; handler: Handler } {
  const state: ImitationState = { grants: new Map(), verification: { ok: true, count: 3 }, completeReply: null };
  let n = 0;
  const handler: Handler = ({ method, url, headers, body }) => {
    const auth = headers.authorization;
    if (auth !== `Bearer ${GOOD_KEY}` && auth !== `Bearer ${ADMIN_KEY}`) {
      return problem(401, "unauthenticated", "the API key is not recognised");
    }
    const admin = auth === `Bearer ${ADMIN_KEY}`;
    const path = url.split("?")[0] ?? "";
    const query = new URLSearchParams(url.split("?")[1] ?? "");
    if (method === "POST" && path === "/v1/requests") {
      const input = JSON.parse(body) as { entitlement: string };
      n += 1;
      if (input.entitlement !== "demo-api/read") {
        return problem(403, "denied", `no rule allows ${input.entitlement}`, { requestId: `req${n}` });
      }
      const grant = grantOf(`grant${n}`, `req${n}`, "active");
      state.grants.set(grant.id, grant);
      return {
        status: 201,
        body: {
          request: { id: `req${n}`, entitlement: input.entitlement, state: "issued", grantId: grant.id },
          grant,
          credential: {
            fields: { token: `tok-${grant.id}`, tokenType: "Bearer", expiresAt: grant.expiresAt },
            env: { EPHEMERA_ACCESS_TOKEN: `tok-${grant.id}` },
          },
        },
      };
    }
    if (method === "GET" && path === "/v1/grants") {
      const states = query.get("state")?.split(",");
      const grants = [...state.grants.values()].filter((g) => !states || states.includes(g.state));
      return { status: 200, body: { grants, next: null } };
    }
    const match = /^\/v1\/grants\/([^/]+)(?:\/(renew|complete|revoke))?$/.exec(path);
    if (match) {
      const grant = state.grants.get(decodeURIComponent(match[1] ?? ""));
      if (!grant) return problem(404, "not_found", `no grant '${match[1]}'`);
      const action = match[2];
      if (method === "GET" && action === undefined) return { status: 200, body: grant };
      if (method === "POST" && action === "renew")
        return { status: 200, body: { grant, credential: null, capped: true } };
      if (method === "POST" && (action === "complete" || action === "revoke")) {
        if (action === "complete" && state.completeReply) return state.completeReply;
        if (grant.state !== "active") {
          return problem(409, "invalid_state", `grant '${grant.id}' is ${grant.state}, not active`, {
            state: grant.state,
          });
        }
        const ended: Grant = {
          ...grant,
          state: "verified",
          removed: true,
          endReason: action === "complete" ? "completed" : "revoked",
          verifiedAt: "2030-01-01T00:00:01.000Z",
        };
        state.grants.set(ended.id, ended);
        return { status: 200, body: ended };
      }
    }
    if (method === "GET" && path.startsWith("/v1/audit")) {
      if (!admin) return problem(403, "forbidden", "the audit log is for admins");
      if (path === "/v1/audit/verify") return { status: 200, body: state.verification };
      return {
        status: 200,
        body: {
          events: [
            {
              seq: 1,
              id: "ev1",
              time: "2030-01-01T00:00:00.000Z",
              code: "broker.started",
              severity: "info",
              outcome: "success",
              actor: { type: "system", id: "broker" },
              requestId: null,
              grantId: null,
              identityId: null,
              data: {},
              prevHash: "0",
              hash: "1",
            },
          ],
          next: null,
        },
      };
    }
    if (method === "POST" && path === "/v1/introspect") {
      const token = new URLSearchParams(body).get("token") ?? "";
      const grant = state.grants.get(token.replace(/^tok-/, ""));
      return { status: 200, body: { active: grant?.state === "active" } };
    }
    return problem(404, "not_found", `no route ${method} ${path}`);
  };
  return { state, handler };
}

export function grantOf(id: string, requestId: string, state: GrantState): Grant {
  return {
    id,
    requestId,
    identity: "demo-workload",
    target: "demo-api",
    entitlement: "demo-api/read",
    connectorType: "token",
    handle: `jti-${id}`,
    state,
    removed: state === "verified",
    createdAt: "2030-01-01T00:00:00.000Z",
    issuedAt: "2030-01-01T00:00:00.000Z",
    expiresAt: "2030-01-01T00:05:00.000Z",
    maxExpiresAt: "2030-01-01T01:00:00.000Z",
    renewals: 0,
    endReason: null,
    endedAt: null,
    endedBy: null,
    removalAttempts: 0,
    lastError: null,
    revokedAt: null,
    verifiedAt: null,
    evidence: null,
    firstUsedAt: null,
    lastUsedAt: null,
    receipt: null,
  };
}
