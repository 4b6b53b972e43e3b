// /v1/sessions: console sign-in and sign-out. A pasted API key (when `console.signIn.apiKey` allows it) is exchanged for
// a server-side session held in an HttpOnly cookie; the CSRF token it answers must be sent in `x-csrf-token` on every
// state-changing call made with the cookie. Sign-in through the identity provider is in oidc-sessions.ts.
import type { FastifyReply } from "fastify";
import Type from "typebox";
import { PERSON_SESSION_METHOD } from "../../identity/index.js";
import {
  ApiKeySignIn,
  type ConsoleSession,
  type ConsoleSessions,
  type ConsoleSignIn,
  closePersonSession,
  SESSION_TTL_MS,
} from "../../lifecycle/index.js";
import { EphemeraError } from "../../support/index.js";
import { ProblemSchema, SessionSchema, SignInMethodsSchema, SignOutSchema } from "../../wire/index.js";
import type { AbuseGuard } from "../abuse.js";
import type { App } from "../app.js";
import {
  AUTHORIZE_PATH,
  CSRF_HEADER,
  PERSON_SESSION_PATH,
  presentSessionIdentity,
  secureCookies,
  sessionCookie,
} from "../console/sessions.js";
import { callerOf, type HttpServices } from "../route-context.js";

/** The session, with what policy lets its identity do now. */
function presentSession(session: ConsoleSession, services: HttpServices) {
  return {
    identity: presentSessionIdentity(session.identity, services),
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
  const secure = secureCookies(services.tls, services.publicUrl);
  const signIn: ConsoleSignIn = new ApiKeySignIn(services.auth);
  const apiKeySignIn = services.apiKeySignIn ?? true;
  const person = services.personSignIn ?? null;
  const errors = { "4xx": ProblemSchema, "5xx": ProblemSchema };

  const setCookie = (reply: FastifyReply, value: string, maxAgeSeconds: number) =>
    reply.header("set-cookie", sessionCookie(value, maxAgeSeconds, secure));

  app.get(
    "/v1/sessions/methods",
    {
      schema: {
        summary: "How people may sign in: the console's choices, and what a command line needs for the device grant",
        description:
          "Needs no credential. `oidc` is the identity provider the console signs in with (null when none); `cli` " +
          "names the provider and the public client id a command line uses for the device authorization grant " +
          "(RFC 8628), and where it exchanges the ID token for a broker session (null when not configured).",
        tags: ["console"],
        security: [],
        response: { 200: SignInMethodsSchema, ...errors },
      },
    },
    async () => {
      const settings = person?.settings;
      return {
        apiKey: apiKeySignIn,
        oidc: settings ? { name: settings.name, authorizeUrl: AUTHORIZE_PATH } : null,
        cli:
          settings?.cliClientId != null
            ? {
                issuer: settings.issuer,
                clientId: settings.cliClientId,
                scopes: [...settings.scopes],
                sessionUrl: PERSON_SESSION_PATH,
              }
            : null,
      };
    },
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
      if (!apiKeySignIn) {
        const how = person ? `; sign in with ${person.settings.name}` : "";
        throw await abuse.refuse(null, {
          auditCode: "auth.failed",
          errorCode: "forbidden",
          message: `console sign-in with an API key is turned off (console.signIn.apiKey)${how}`,
          data: where,
          sourceHmac,
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
        summary: "Sign out: end the console session and clear its cookie, or end a command-line session",
        description:
          "With the console's cookie: ends the session; answers 200 with `logoutUrl` when the session was signed in " +
          "through an identity provider that offers RP-initiated logout (send the browser there to end the " +
          "provider's session too), else 204. With `Authorization: Bearer ephs_…`: ends that command-line session (204).",
        tags: ["console"],
        response: { 200: SignOutSchema, 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const current = request.consoleSession;
      if (!current) {
        const facts = request.authentication;
        const token = /^Bearer[ ]+(\S+)$/i.exec(request.headers.authorization?.trim() ?? "")?.[1];
        if (facts?.method === PERSON_SESSION_METHOD && token !== undefined) {
          await closePersonSession(deps, callerOf(request), token, facts.credentialId);
          reply.code(204);
          return null;
        }
        throw new EphemeraError(
          "not_found",
          "no session: this call was made with neither a console nor a command-line session",
        );
      }
      const { idTokenHint } = await sessions.close(current.cookie, current.session);
      setCookie(reply, "", 0);
      const logoutUrl = idTokenHint !== null && person ? await person.endSessionUrl(idTokenHint) : null;
      if (logoutUrl === null) {
        reply.code(204);
        return null;
      }
      reply.header("cache-control", "no-store");
      return { logoutUrl };
    },
  );
}
