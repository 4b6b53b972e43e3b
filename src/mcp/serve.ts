// Runs the MCP server over stdio (one session: the process that launched it) or Streamable HTTP (one session per
// client, `Mcp-Session-Id`). Whatever ends a session — stdin closing, DELETE, idle timeout, SIGTERM — completes every
// grant it obtained before the server lets go of it.
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Readable, Writable } from "node:stream";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { isLoopbackHost } from "../client/index.js";
import { BrokerAccess, readToken } from "./broker-auth.js";
import { checkListen, type McpConfig } from "./config.js";
import { ServerLimits } from "./server-limits.js";
import { AccessSession, type CloseReport, type Log, type SharedBySessions } from "./session.js";
import { SinkOwners } from "./sink-owners.js";
import { buildMcpServer } from "./tools.js";

/** Biggest HTTP body read (a tool call's arguments); larger ones are answered 413 before parsing. */
const BODY_LIMIT_BYTES = 4 * 1024 * 1024;

export interface RunningMcp {
  /** `http://host:port/mcp` for HTTP; null for stdio. */
  readonly url: string | null;
  /** Resolves once every session has ended (stdio: when the client went away or `stop` was called). */
  readonly done: Promise<readonly CloseReport[]>;
  /** Ends every session (completing its grants) and stops serving. */
  stop(): Promise<readonly CloseReport[]>;
}

export interface ServeOptions {
  readonly config: McpConfig;
  readonly version: string;
  readonly log: Log;
  /** Where an agent configuration's auth source reads its variables (api-key env, GitLab, GitHub); default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export async function serveStdio(
  options: ServeOptions & { readonly stdin: Readable; readonly stdout: Writable },
): Promise<RunningMcp> {
  const broker = new BrokerAccess(options.config.broker, options.env);
  await broker.check();
  const session = new AccessSession(options.config, broker, options.log, sharedBySessions(options.config));
  const server = buildMcpServer(session, options.version);
  const transport = new StdioServerTransport(options.stdin, options.stdout);
  let ending: Promise<readonly CloseReport[]> | null = null;
  const stop = () => {
    ending ??= (async () => {
      const report = await session.close();
      await server.close().catch(() => undefined);
      return [report];
    })();
    return ending;
  };
  let resolveDone: (reports: readonly CloseReport[]) => void = () => undefined;
  const done = new Promise<readonly CloseReport[]>((resolve) => {
    resolveDone = resolve;
  });
  // The client went away (it closed our stdin, or died): that is the end of the session.
  let gone = false;
  const disconnected = () => {
    if (gone) return;
    gone = true;
    options.log("info", "client disconnected");
    void stop().then(resolveDone);
  };
  options.stdin.once("end", disconnected);
  options.stdin.once("close", disconnected);
  await server.connect(transport);
  options.log("info", "serving MCP over stdio", { broker: broker.url, auth: broker.describe });
  return {
    url: null,
    done,
    stop: async () => {
      const reports = await stop();
      resolveDone(reports);
      return reports;
    },
  };
}

interface HttpSession {
  readonly id: string;
  readonly transport: StreamableHTTPServerTransport;
  readonly access: AccessSession;
  lastSeen: number;
}

export async function serveHttp(
  options: ServeOptions & { readonly host: string; readonly port: number },
): Promise<RunningMcp> {
  const { config, log } = options;
  checkListen(options.host, config);
  const broker = new BrokerAccess(config.broker, options.env);
  await broker.check();
  const bearer = config.http.bearerTokenFile
    ? await readToken(config.http.bearerTokenFile, "http.bearerTokenFile")
    : null;
  const sessions = new Map<string, HttpSession>();
  const shared = sharedBySessions(config);
  /** Sessions whose `initialize` is being handled: counted against limits.maxSessions before they are in `sessions`. */
  let starting = 0;
  const reports: CloseReport[] = [];
  let stopping = false;

  const end = async (id: string, why: string): Promise<void> => {
    const s = sessions.get(id);
    if (!s) return;
    sessions.delete(id);
    log("info", "session ending", { session: id, why });
    reports.push(await s.access.close());
    await s.transport.close().catch(() => undefined);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== "/mcp") return plain(res, 404, "not found: the MCP endpoint is /mcp");
    if (!hostAllowed(req.headers.host, options.host, address.port)) return plain(res, 403, "host not allowed");
    const origin = req.headers.origin;
    if (origin !== undefined && !hostAllowed(safeHost(origin), options.host, address.port)) {
      return plain(res, 403, "origin not allowed");
    }
    if (bearer !== null && !sameSecret(req.headers.authorization ?? "", `Bearer ${bearer}`)) {
      return plain(res, 401, "unauthorized");
    }
    const sessionId = req.headers["mcp-session-id"];
    const existing = typeof sessionId === "string" ? sessions.get(sessionId) : undefined;
    if (existing) {
      existing.lastSeen = Date.now();
      let body: unknown;
      if (req.method === "POST") {
        body = await readJson(req, res);
        if (body === undefined) return;
      }
      await existing.transport.handleRequest(req, res, body);
      return;
    }
    if (sessionId !== undefined) return rpcError(res, 404, "unknown or ended session; start a new one");
    if (req.method !== "POST") return rpcError(res, 400, "start a session with an initialize request");
    const body = await readJson(req, res);
    if (body === undefined) return;
    if (!isInitializeRequest(body)) return rpcError(res, 400, "start a session with an initialize request");
    if (stopping) return rpcError(res, 503, "the server is stopping");
    if (sessions.size + starting >= config.limits.maxSessions) {
      log("warn", "session refused: too many sessions", { max: config.limits.maxSessions });
      return rpcError(
        res,
        503,
        `too many sessions: this server allows ${config.limits.maxSessions} at once (limits.maxSessions); end one (DELETE) or retry later`,
      );
    }
    starting++;
    try {
      await startSession(req, res, body);
    } finally {
      starting--;
    }
  };

  const startSession = async (req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> => {
    const access = new AccessSession(config, broker, log, shared);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      maxRequestBodySize: BODY_LIMIT_BYTES,
      onsessioninitialized: (id) => {
        sessions.set(id, { id, transport, access, lastSeen: Date.now() });
        log("info", "session started", { session: id });
      },
      // DELETE from the client: its grants are completed before the DELETE is answered.
      onsessionclosed: (id) => end(id, "client ended the session"),
    });
    transport.onclose = () => {
      if (transport.sessionId) void end(transport.sessionId, "transport closed");
    };
    const server = buildMcpServer(access, options.version);
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
    // An initialize the transport refused leaves no session: let go of what was made for it.
    if (transport.sessionId === undefined) {
      await access.close();
      await server.close().catch(() => undefined);
    }
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log("error", "HTTP request failed", { error: error instanceof Error ? error.message : "error" });
      if (!res.headersSent) rpcError(res, 500, "internal error");
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port, options.host, () => resolve());
  });
  const address = http.address() as import("node:net").AddressInfo;
  const url = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${address.port}/mcp`;
  log("info", "serving MCP over HTTP", { url, broker: broker.url, auth: broker.describe });

  const idleMs = config.http.sessionIdleTimeoutMs;
  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (const s of sessions.values()) if (now - s.lastSeen > idleMs) void end(s.id, "idle");
    },
    Math.max(250, Math.min(30_000, Math.floor(idleMs / 4))),
  );
  sweeper.unref();

  let resolveDone: (r: readonly CloseReport[]) => void = () => undefined;
  const done = new Promise<readonly CloseReport[]>((resolve) => {
    resolveDone = resolve;
  });
  let stopped: Promise<readonly CloseReport[]> | null = null;
  return {
    url,
    done,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        clearInterval(sweeper);
        const closing = new Promise<void>((resolve) => http.close(() => resolve()));
        await Promise.all([...sessions.keys()].map((id) => end(id, "server stopping")));
        http.closeAllConnections();
        await closing;
        resolveDone(reports);
        return reports;
      })();
      return stopped;
    },
  };
}

function sharedBySessions(config: McpConfig): SharedBySessions {
  return { limits: new ServerLimits(config.limits), sinks: new SinkOwners() };
}

/**
 * DNS-rebinding guard: the Host (or Origin) must name the address we listen on, or, on loopback, any loopback name
 * (a name that resolves elsewhere cannot reach a loopback listener).
 */
function hostAllowed(host: string | undefined, listenHost: string, port: number): boolean {
  if (host === undefined) return false;
  const names = isLoopbackHost(listenHost) ? [listenHost, "127.0.0.1", "localhost", "::1"] : [listenHost];
  return names.some((name) => host === `${name.includes(":") ? `[${name}]` : name}:${port}`);
}

function safeHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

/** Compares digests, so neither the content nor the length of the expected value shows in the time taken. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

async function readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT_BYTES) {
      rpcError(res, 413, `the request body is over ${BODY_LIMIT_BYTES} bytes`);
      req.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    rpcError(res, 400, "the body is not JSON");
    return undefined;
  }
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" }).end(`${text}\n`);
}

function rpcError(res: ServerResponse, status: number, message: string): void {
  res
    .writeHead(status, { "content-type": "application/json" })
    .end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }));
}
