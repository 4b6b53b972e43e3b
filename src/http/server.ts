// The HTTP API: fastify with schema-validated routes, bearer authentication, problem+json errors and an OpenAPI document.

import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import swagger from "@fastify/swagger";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyError, type FastifyRequest, LogController } from "fastify";
import type { PeerCertificate } from "../identity/index.js";
import { ConsoleSessions, refuse, storeFailure } from "../lifecycle/index.js";
import { describeError, EphemeraError, ERROR_CATALOGUE, type ErrorCode } from "../support/index.js";
import { AbuseGuard } from "./abuse.js";
import type { App } from "./app.js";
import { registerBodyParsers, strictBodyValidator } from "./body-parsing.js";
import {
  CSRF_HEADER,
  cookieValue,
  csrfMatches,
  SESSION_COOKIE,
  SIGN_IN_CALLS,
  sessionFacts,
} from "./console/sessions.js";
import { registerConsole } from "./console/static.js";
import { fromFrameworkError, problemBody, sendProblem } from "./problem.js";
import type { HttpServices } from "./route-context.js";
import { registerAuditRoutes } from "./routes/audit.js";
import { registerDiscoveryRoutes } from "./routes/discovery.js";
import { registerEntitlementRoutes } from "./routes/entitlements.js";
import { registerGrantRoutes } from "./routes/grants.js";
import { registerHealthRoutes } from "./routes/health.js";
import { registerIdentityRoutes } from "./routes/identities.js";
import { registerOidcSessionRoutes } from "./routes/oidc-sessions.js";
import { registerReportRoutes } from "./routes/report.js";
import { registerRequestRoutes } from "./routes/requests.js";
import { registerSessionRoutes } from "./routes/sessions.js";
import { registerTokenRoutes } from "./routes/tokens.js";
import { registerX509Routes } from "./routes/x509.js";

/** The client certificate of the request's TLS connection, if it sent one. */
function peerCertificateOf(request: FastifyRequest): PeerCertificate | undefined {
  const socket = request.raw.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerX509Certificate !== "function") return undefined;
  const certificate = socket.getPeerX509Certificate();
  if (!certificate) return undefined;
  const error = socket.authorizationError;
  return {
    certificate,
    authorized: socket.authorized === true,
    authorizationError: error === undefined || error === null ? null : String(error),
  };
}

/** Methods that change nothing; every other method with a console session needs the CSRF token. */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export type { App } from "./app.js";
export type { HttpServices } from "./route-context.js";

export async function buildServer(services: HttpServices): Promise<App> {
  const tls = services.tls;
  const app = Fastify({
    ...(tls
      ? {
          https: {
            cert: tls.cert,
            key: tls.key,
            maxHeaderSize: MAX_HEADER_BYTES,
            ...(tls.clientCa
              ? // Asked for, not required: callers with a bearer credential need no certificate. The mtls authenticator
                // accepts only certificates the handshake verified against clientCa.
                { ca: tls.clientCa, requestCert: true, rejectUnauthorized: false }
              : {}),
          },
        }
      : {}),
    // Room for the largest token an authenticator accepts (maxTokenSize, at most 64 KiB), so the broker's own check
    // answers an oversized one; beyond this the parser refuses, and clientErrorHandler still answers a problem.
    http: { maxHeaderSize: MAX_HEADER_BYTES },
    clientErrorHandler: answerClientError,
    trustProxy: services.trustProxy.length > 0 ? [...services.trustProxy] : false,
    loggerInstance: services.logger,
    // Per-request log lines cost throughput and add nothing the audit log and metrics do not already say.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: services.bodyLimit,
    return503OnClosing: true,
    // Bodies are taken as sent: a wrong JSON type is a 400 naming the field, never converted (`["x"]` is not "x",
    // `true` is not "true"). Query strings and path parameters are text by nature and are converted to their types.
    schemaController: { compilersFactory: { buildValidator: strictBodyValidator } },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Ephemera",
        version: services.version,
        description: "Just-in-time access broker for non-human identities. Errors are RFC 9457 problem documents.",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
    },
  });

  app.decorateRequest("caller", null);
  app.decorateRequest("authentication", null);
  app.decorateRequest("consoleSession", null);
  const consoleSessions = new ConsoleSessions(
    services.deps,
    () => services.entitlementNames ?? [],
    services.credentialValid,
    services.consoleIdleMs,
  );
  const abuse = await AbuseGuard.register(app, services.deps, services.rateLimit, services.refusalWindowMs);

  registerBodyParsers(app);

  app.addHook("onRequest", async (request, reply) => {
    if (!request.url.startsWith("/v1/")) return;
    // Sign-in calls are made before there is a credential to check (each checks the one it is given).
    if (SIGN_IN_CALLS.has(`${request.method} ${request.url.split("?")[0]}`)) return;
    const cookie = request.headers.authorization ? null : cookieValue(request.headers.cookie, SESSION_COOKIE);
    if (cookie !== null) {
      const session = await consoleSessions.resolve(cookie);
      if (session) {
        request.caller = session.identity;
        request.authentication = sessionFacts(session);
        request.consoleSession = { session, cookie };
        services.identities.seen(session.identity.id);
        if (!SAFE_METHODS.has(request.method) && !csrfMatches(session, request.headers[CSRF_HEADER])) {
          const error = await refuse(services.deps, session.identity, {
            auditCode: "auth.forbidden",
            errorCode: "forbidden",
            message: `a console session must send its CSRF token in the ${CSRF_HEADER} header on every change`,
            data: {
              method: request.method,
              path: request.routeOptions.url ?? "unknown",
              sourceAddressHmac: services.deps.auditHmac.tag(request.ip),
            },
          }).catch((e: unknown) => (e instanceof EphemeraError ? e : new EphemeraError("internal", "internal error")));
          return sendProblem(reply, error);
        }
        return;
      }
    }
    // The console asks whether it is signed in before it is: no credential at all is an answer (204), not a failure.
    if (request.method === "GET" && request.url.split("?")[0] === "/v1/sessions" && !request.headers.authorization) {
      return;
    }
    const result =
      cookie !== null && !peerCertificateOf(request)
        ? ({ ok: false, reason: "the console session has ended or expired; sign in again" } as const)
        : await services.auth.authenticate({
            authorization: request.headers.authorization,
            peerCertificate: peerCertificateOf(request),
          });
    if (result.ok) {
      const { ok: _ok, identity, ...facts } = result;
      request.caller = identity;
      request.authentication = facts;
      services.identities.seen(identity.id);
      return;
    }
    const where = {
      method: request.method,
      path: request.routeOptions.url ?? "unknown",
      sourceAddressHmac: services.deps.auditHmac.tag(request.ip),
    };
    if (result.inactive) {
      // A good credential of a dormant or offboarded identity: 403 naming the status, so its owner knows what to ask for.
      const { identityId, status } = result.inactive;
      const forbidden = await refuse(services.deps, null, {
        auditCode: "auth.forbidden",
        errorCode: "identity_inactive",
        message: result.reason,
        data: { ...where, identity: identityId, status },
        extensions: { identity: identityId, identityStatus: status },
      }).catch((e: unknown) => (e instanceof EphemeraError ? e : new EphemeraError("internal", "internal error")));
      return sendProblem(reply, forbidden);
    }
    // A source that keeps failing is told to wait (429), and a flood of failures is one event plus a summary.
    const retryAfter = await abuse.authFailed(request);
    const sourceHmac = where.sourceAddressHmac;
    const error = await abuse
      .refuse(
        null,
        retryAfter === null
          ? { auditCode: "auth.failed", errorCode: "unauthenticated", message: result.reason, data: where, sourceHmac }
          : {
              auditCode: "auth.failed",
              errorCode: "rate_limited",
              message: `too many failed authentications from this address; retry in ${retryAfter} s`,
              data: where,
              sourceHmac,
              extensions: { retryAfter },
            },
      )
      .catch((e: unknown) => (e instanceof EphemeraError ? e : new EphemeraError("internal", "internal error")));
    if (retryAfter !== null) reply.header("retry-after", String(retryAfter));
    else reply.header("www-authenticate", 'Bearer realm="ephemera"');
    return sendProblem(reply, error);
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    let problem = error instanceof EphemeraError ? error : (storeFailure(error) ?? fromFrameworkError(error));
    // An unreachable store (`unavailable`) could not take the audit event either.
    if (problem && !(error instanceof EphemeraError) && problem.code !== "unavailable") {
      // Bad input is refused and the refusal audited; nothing else changes.
      // Audited through the digest: a client sending malformed bodies in a loop is one event and a summary per window.
      problem = await abuse
        .refuse(request.caller, {
          auditCode: "request.rejected",
          errorCode: problem.code,
          message: problem.publicMessage,
          data: { method: request.method, path: request.routeOptions.url ?? "unknown" },
          extensions: { ...problem.extensions },
          sourceHmac: services.deps.auditHmac.tag(request.ip),
        })
        .catch((e: unknown) => (e instanceof EphemeraError ? e : new EphemeraError("internal", "internal error")));
    }
    if (!problem) {
      request.log.error({ err: describeError(error), url: request.routeOptions.url }, "unhandled error");
      problem = new EphemeraError("internal", "internal error; the operator's log has the detail");
    } else if (problem.status >= 500) {
      request.log.error(
        { code: problem.code, detail: problem.detail, url: request.routeOptions.url },
        problem.publicMessage,
      );
    }
    return sendProblem(reply, problem);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, new EphemeraError("not_found", `no route ${request.method} ${request.url.split("?")[0]}`)),
  );

  registerRequestRoutes(app, services);
  registerEntitlementRoutes(app, services);
  registerGrantRoutes(app, services);
  registerAuditRoutes(app, services);
  registerTokenRoutes(app, services);
  registerX509Routes(app, services);
  registerDiscoveryRoutes(app, services);
  registerHealthRoutes(app, services);
  registerIdentityRoutes(app, services);
  registerReportRoutes(app, services);
  registerSessionRoutes(app, services, consoleSessions, abuse);
  registerOidcSessionRoutes(app, services, consoleSessions, abuse);
  registerConsole(app);
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  return app;
}

const MAX_HEADER_BYTES = 80 * 1024;

/**
 * Requests the HTTP parser refuses before fastify sees them (headers too large, a malformed request line, a slow
 * client) are answered with a problem document like every other refusal, then the connection is closed.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const [code, detail]: [ErrorCode, string] =
    error.code === "HPE_HEADER_OVERFLOW"
      ? [
          "headers_too_large",
          `the request headers are larger than ${MAX_HEADER_BYTES} bytes (a token that large is refused)`,
        ]
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? ["request_timeout", "the request did not arrive in time"]
        : ["invalid_request", "the request is not valid HTTP"];
  const body = JSON.stringify(problemBody(code, detail));
  if (socket.writable) {
    const status = ERROR_CATALOGUE[code].status;
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
