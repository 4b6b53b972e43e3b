// /v1/sessions: console sign-in. A pasted API key is exchanged for a server-side session held in an HttpOnly cookie;
// the CSRF token it answers must be sent in `x-csrf-token` on every state-changing call made with the cookie.
import type { FastifyReply } from "fastify";
import Type from "typebox";
import {
  ApiKeySignIn,
  type ConsoleSession,
  type ConsoleSessions,
  type ConsoleSignIn,
  privilegesOf,
  SESSION_TTL_MS,
} from "../../lifecycle/index.js";
import { EphemeraError } from "../../support/index.js";
import { ProblemSchema, SessionSchema } from "../../wire/index.js";
import type { AbuseGuard } from "../abuse.js";
import type { App } from "../app.js";
import { CSRF_HEADER, SESSION_COOKIE } from "../console/sessions.js";
import type { HttpServices } from "../route-context.js";

/** The session, with what policy lets its identity do now (`admin` is `privileges` holding `admin`). */
function presentSession(session: ConsoleSession, services: HttpServices) {
  const i = session.identity;
  const privileges = privilegesOf(services.deps, i, services.connectors.keys());
  return {
    identity: {
      id: i.id,
      kind: i.kind,
      owner: i.owner ?? null,
      groups: [...i.groups],
      admin: privileges.includes("admin"),
      privileges,
    },
    csrfToken: session.csrfToken,
    expiresAt: new Date(session.expiresAt).toISOString(),
  };
}

export function registerSessionRoutes(
  app: App,
  services: HttpServices,
  sessions: ConsoleSessions,
  abuse: AbuseGuard,
): void {
  const { deps } = services;
  const secure = Boolean(services.tls) || (services.publicUrl ?? "").startsWith("https:");
  const signIn: ConsoleSignIn = new ApiKeySignIn(services.auth);
  const errors = { "4xx": ProblemSchema, "5xx": ProblemSchema };

  const setCookie = (reply: FastifyReply, value: string, maxAgeSeconds: number) =>
    reply.header(
      "set-cookie",
      `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? "; Secure" : ""}`,
    );

  app.post(
    "/v1/sessions",
    {
      schema: {
        summary: "Sign in to the console with an admin's or approver's API key",
        description:
          "Answers 201 with an HttpOnly, SameSite=Strict session cookie (Secure over TLS) and the CSRF token to send " +
          `in the ${CSRF_HEADER} header with every state-changing call made with the cookie. The key is checked once ` +
          "and not kept. Only admins and identities that policy lets approve something may sign in. Sessions last " +
          `${SESSION_TTL_MS / 3_600_000} h.`,
        tags: ["console"],
        security: [],
        body: Type.Object({ apiKey: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false }),
        response: { 201: SessionSchema, ...errors },
      },
    },
    async (request, reply) => {
      const where = { method: "POST", path: "/v1/sessions" };
      const sourceHmac = deps.auditHmac.tag(request.ip);
      const retryAfter = await abuse.signInAttempt(request);
      if (retryAfter !== null) {
        reply.header("retry-after", String(retryAfter));
        throw await abuse.refuse(null, {
          auditCode: "auth.failed",
          errorCode: "rate_limited",
          message: `too many console sign-ins from this address; retry in ${retryAfter} s`,
          data: where,
          sourceHmac,
          extensions: { retryAfter },
        });
      }
      const result = await signIn.signIn(request.body);
      if (!result.ok) {
        throw await abuse.refuse(null, {
          auditCode: "auth.failed",
          errorCode: "unauthenticated",
          message: `console sign-in refused: ${result.reason}`,
          data: where,
          sourceHmac,
        });
      }
      const opened = await sessions.open(result.identity, {
        method: signIn.method,
        credentialId: result.credentialId,
        source: request.ip,
      });
      setCookie(reply, opened.token, Math.floor(SESSION_TTL_MS / 1000));
      reply.code(201).header("cache-control", "no-store");
      return presentSession(opened.session, services);
    },
  );

  app.get(
    "/v1/sessions",
    {
      schema: {
        summary: "The console session the cookie names: who is signed in, and its CSRF token",
        description:
          "204 when the call carries no live console session (no cookie, or one that ended): the console then shows " +
          "its sign-in form. Needs no other credential.",
        tags: ["console"],
        security: [],
        response: { 200: SessionSchema, 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const current = request.consoleSession;
      reply.header("cache-control", "no-store");
      if (!current) {
        reply.code(204);
        return null;
      }
      return presentSession(current.session, services);
    },
  );

  app.delete(
    "/v1/sessions",
    {
      schema: {
        summary: "Sign out: end the console session and clear its cookie",
        tags: ["console"],
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const current = request.consoleSession;
      if (!current) throw new EphemeraError("not_found", "no console session: this call was not made with one");
      await sessions.close(current.cookie, current.session);
      setCookie(reply, "", 0);
      reply.code(204);
      return null;
    },
  );
}
