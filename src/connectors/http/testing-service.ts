// A small in-memory "ticketing tool" for the http connector's tests, benchmark and demo: users with role memberships,
// an admin API behind a bearer token, and user sessions whose rights follow the memberships on every request.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { randomToken } from "../../support/index.js";

/** One request the service received, as sent on the wire. */
export interface RecordedCall {
  readonly method: string;
  /** The request target exactly as sent: path and query, still percent-encoded. */
  readonly rawPath: string;
  readonly body: string;
}

/** What the next matching admin call does instead of its normal work. */
export type Fault =
  /** Answer with this status without doing anything; `echoAuthorization` puts the request's token in the body. */
  | { readonly kind: "status"; readonly status: number; readonly echoAuthorization?: boolean }
  /** Do the work, then drop the connection before answering: the caller cannot know it happened. */
  | { readonly kind: "lose" }
  /** Never answer. */
  | { readonly kind: "hang" };

interface PendingFault {
  readonly fault: Fault;
  readonly match: (method: string, path: string) => boolean;
  remaining: number;
}

interface Answer {
  readonly status: number;
  readonly body?: unknown;
}

const MAX_BODY = 64 * 1024;

export class TicketingService {
  readonly adminToken: string;
  /** user id → roles held. */
  readonly users = new Map<string, Set<string>>();
  /** session id → user id. Sessions hold no roles: every request looks at the memberships as they are now. */
  readonly sessions = new Map<string, string>();
  readonly calls: RecordedCall[] = [];
  readonly #faults: PendingFault[] = [];
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;
  #port = 0;

  private constructor(adminToken: string) {
    this.adminToken = adminToken;
  }

  /** Starts the service on 127.0.0.1 (port 0: any free port). */
  static async start(options: { adminToken?: string; port?: number } = {}): Promise<TicketingService> {
    const service = new TicketingService(options.adminToken ?? `tkt_${randomToken(32)}`);
    await service.#listen(options.port ?? 0);
    return service;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  addUser(id: string, roles: readonly string[] = []): void {
    this.users.set(id, new Set(roles));
  }

  rolesOf(id: string): string[] {
    return [...(this.users.get(id) ?? [])].sort();
  }

  /** Every membership as `user:role`, sorted. */
  memberships(): string[] {
    return [...this.users].flatMap(([user, roles]) => [...roles].map((role) => `${user}:${role}`)).sort();
  }

  /** The next `times` admin calls that `match` (default: any under /api) meet `fault`. */
  inject(fault: Fault, options: { times?: number; match?: (method: string, path: string) => boolean } = {}): void {
    this.#faults.push({ fault, match: options.match ?? (() => true), remaining: options.times ?? 1 });
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  /** Stops listening and drops every connection, as an outage would. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = null;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port, with the same users. */
  async restart(): Promise<void> {
    if (!this.#server) await this.#listen(this.#port);
  }

  close(): Promise<void> {
    return this.stop();
  }

  #listen(port: number): Promise<void> {
    const server = createServer((req, res) => {
      this.#handle(req, res).catch(() => res.destroy());
    });
    server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        const address = server.address();
        this.#port = typeof address === "object" && address ? address.port : port;
        this.#server = server;
        resolve();
      });
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) return send(res, { status: 413 });
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks).toString("utf8");
    const rawPath = req.url ?? "/";
    const method = req.method ?? "GET";
    this.calls.push({ method, rawPath, body });

    const pathname = rawPath.split("?")[0] ?? "/";
    let segments: string[];
    try {
      segments = pathname.split("/").slice(1).map(decodeURIComponent);
    } catch {
      return send(res, { status: 400, body: { error: "bad percent-encoding" } });
    }
    if (segments[0] !== "api") return send(res, this.#user(method, segments, req, body));

    if (req.headers.authorization !== `Bearer ${this.adminToken}`) {
      return send(res, { status: 401, body: { error: "admin token required" } });
    }
    const fault = this.#takeFault(method, pathname);
    if (fault?.kind === "hang") return;
    if (fault?.kind === "status") {
      const echo = fault.echoAuthorization ? { received: req.headers.authorization } : {};
      return send(res, { status: fault.status, body: { error: "injected failure", ...echo } });
    }
    const answer = this.#admin(method, segments.slice(1), body);
    if (fault?.kind === "lose") {
      res.socket?.destroy();
      return;
    }
    send(res, answer);
  }

  #takeFault(method: string, path: string): Fault | null {
    const pending = this.#faults.find((f) => f.remaining > 0 && f.match(method, path));
    if (!pending) return null;
    pending.remaining -= 1;
    if (pending.remaining === 0) this.#faults.splice(this.#faults.indexOf(pending), 1);
    return pending.fault;
  }

  /** The admin API under /api. */
  #admin(method: string, path: string[], body: string): Answer {
    const [collection, id, sub, role, ...rest] = path;
    if (collection === "users" && id === undefined && method === "GET") {
      return {
        status: 200,
        body: { users: [...this.users].map(([user, roles]) => ({ id: user, roles: [...roles] })) },
      };
    }
    if (collection === "users" && id !== undefined && sub === undefined && method === "GET") {
      const roles = this.users.get(id);
      return roles
        ? { status: 200, body: { id, roles: [...roles] } }
        : { status: 404, body: { error: "no such user" } };
    }
    if (collection === "users" && id !== undefined && sub === "roles" && role !== undefined && rest.length === 0) {
      return this.#membership(method, id, role);
    }
    if (collection === "memberships" && method === "POST" && (id === undefined || (id === "remove" && !sub))) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return { status: 400, body: { error: "body must be JSON" } };
      }
      const { user, role: wanted } = (parsed ?? {}) as { user?: unknown; role?: unknown };
      if (typeof user !== "string" || typeof wanted !== "string") {
        return { status: 400, body: { error: "user and role must be strings" } };
      }
      const answer = this.#membership(id === "remove" ? "DELETE" : "PUT", user, wanted);
      return answer.status === 204 ? { status: id === "remove" ? 200 : 201, body: { user, role: wanted } } : answer;
    }
    return { status: 404, body: { error: "no such route" } };
  }

  #membership(method: string, user: string, role: string): Answer {
    const roles = this.users.get(user);
    if (!roles) return { status: 404, body: { error: "no such user" } };
    switch (method) {
      case "GET":
        return roles.has(role) ? { status: 200, body: { member: true } } : { status: 404, body: { member: false } };
      case "PUT":
        roles.add(role);
        return { status: 204 };
      case "DELETE":
        return roles.delete(role) ? { status: 204 } : { status: 404, body: { error: "not a member" } };
      default:
        return { status: 405 };
    }
  }

  /** The user side: log in, then use a queue only members of its role may see. */
  #user(method: string, path: string[], req: IncomingMessage, body: string): Answer {
    if (path.length === 1 && path[0] === "" && (method === "GET" || method === "HEAD")) return { status: 200 };
    if (path[0] === "healthz" && method === "GET") return { status: 200, body: { ok: true } };
    if (path[0] === "login" && method === "POST") {
      let user: unknown;
      try {
        user = (JSON.parse(body) as { user?: unknown }).user;
      } catch {
        return { status: 400 };
      }
      if (typeof user !== "string" || !this.users.has(user)) return { status: 401, body: { error: "unknown user" } };
      const session = `ses_${randomToken(24)}`;
      this.sessions.set(session, user);
      return { status: 200, body: { session } };
    }
    if (path[0] === "app" && path[1] === "queues" && path[2] !== undefined && method === "GET") {
      const session = /^Session (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
      const user = session === undefined ? undefined : this.sessions.get(session);
      if (user === undefined || !this.users.has(user)) return { status: 401, body: { error: "no session" } };
      // Rights are looked up now, not when the session began: a removed membership stops working at once.
      if (!this.users.get(user)?.has(path[2])) return { status: 403, body: { error: "role required" } };
      return { status: 200, body: { queue: path[2], tickets: [] } };
    }
    return { status: 404, body: { error: "no such route" } };
  }
}

function send(res: ServerResponse, answer: Answer): void {
  if (answer.body === undefined) {
    res.writeHead(answer.status).end();
    return;
  }
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, { "content-type": "application/json" }).end(text);
}
