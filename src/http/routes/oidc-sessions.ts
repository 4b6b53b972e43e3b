// /v1/sessions/oidc: people sign in with the company's identity provider. The console's browser goes to `authorize`
// (sent on to the provider with state, nonce and PKCE kept server-side) and comes back to `callback`, which opens the
// console session. A command line POSTs an ID token it got with the device grant and receives a broker session token.
import type { FastifyReply, FastifyRequest } from "fastify";
import Type from "typebox";
import { KeysUnavailableError, type PersonSignIn } from "../../identity/index.js";
import {
  beginOidcSignIn,
  type ConsoleSessions,
  completeOidcSignIn,
  openPersonSession,
  PENDING_SIGN_IN_MS,
  refusalError,
  type SignInRefusal,
} from "../../lifecycle/index.js";
import type { ErrorCode } from "../../support/index.js";
import { PersonSessionBodySchema, PersonSessionSchema, ProblemSchema } from "../../wire/index.js";
import type { AbuseGuard } from "../abuse.js";
import type { App } from "../app.js";
import {
  AUTHORIZE_PATH,
  CALLBACK_PATH,
  cookieValue,
  PERSON_SESSION_PATH,
  presentSessionIdentity,
  secureCookies,
  sessionCookie,
} from "../console/sessions.js";
import type { HttpServices } from "../route-context.js";

/** The browser's side of a sign-in in progress: sent back only to the callback, across the provider's redirect (Lax). */
const PENDING_COOKIE = "ephemera_oidc";

function errorCodeOf(refusal: SignInRefusal): ErrorCode {
  if (refusal.code === "inactive") return "identity_inactive";
  if (refusal.code === "provider_unavailable" || refusal.code === "keys_unavailable") return "downstream_unavailable";
  return "unauthenticated";
}

export function registerOidcSessionRoutes(
  app: App,
  services: HttpServices,
  sessions: ConsoleSessions,
  abuse: AbuseGuard,
): void {
  const signIn: PersonSignIn | null = services.personSignIn ?? null;
  const { deps } = services;
  const secure = secureCookies(services.tls, services.publicUrl);
  const errors = { "4xx": ProblemSchema, "5xx": ProblemSchema };
  const pendingCookie = (value: string, maxAge: number) =>
    `${PENDING_COOKIE}=${value}; Path=/v1/sessions/oidc; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure ? "; Secure" : ""}`;

  /**
   * Answers the configured sign-in, or throws the audited refusal. A sign-in counts once against the per-address limit,
   * when it starts (or when a command line presents its token): the callback that completes it is not counted again, so
   * people behind one address are not refused twice as soon, and it needs a started sign-in to succeed anyway.
   */
  const attempt = async (request: FastifyRequest, reply: FastifyReply, counted = true): Promise<PersonSignIn> => {
    const where = { method: request.method, path: request.routeOptions.url ?? "unknown" };
    const sourceHmac = deps.auditHmac.tag(request.ip);
    const retryAfter = counted ? await abuse.signInAttempt(request) : null;
    if (retryAfter !== null) {
      reply.header("retry-after", String(retryAfter));
      throw await abuse.refuse(null, {
        auditCode: "auth.failed",
        errorCode: "rate_limited",
        message: `too many sign-ins from this address; retry in ${retryAfter} s`,
        data: where,
        sourceHmac,
        extensions: { retryAfter },
      });
    }
    if (!signIn) {
      throw await abuse.refuse(null, {
        auditCode: "auth.failed",
        errorCode: "not_found",
        message: "sign-in with an identity provider is not configured (console.signIn.oidc)",
        data: where,
        sourceHmac,
      });
    }
    return signIn;
  };

  /** Audits a refusal (unless the lifecycle committed its event with the consumed sign-in) and answers its error. */
  const refuseWith = async (request: FastifyRequest, refusal: SignInRefusal, what: string) => {
    const errorCode = errorCodeOf(refusal);
    const message = `${what} refused: ${refusal.reason}`;
    if (refusal.audited) return refusalError({ auditCode: "auth.failed", errorCode, message });
    return abuse.refuse(null, {
      auditCode: refusal.code === "inactive" ? "auth.forbidden" : "auth.failed",
      errorCode,
      message,
      data: { method: request.method, path: request.routeOptions.url ?? "unknown", refused: refusal.code },
      sourceHmac: deps.auditHmac.tag(request.ip),
    });
  };

  app.get(
    AUTHORIZE_PATH,
    {
      schema: {
        summary: "Start signing in to the console with the identity provider (a browser navigation)",
        description:
          "Answers 302 to the provider's authorization endpoint (authorization code with PKCE S256, state and nonce, " +
          "all kept server-side) and sets a short-lived HttpOnly cookie that ties the sign-in to this browser.",
        tags: ["console"],
        security: [],
        response: { 302: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const provider = await attempt(request, reply);
      let started: Awaited<ReturnType<typeof beginOidcSignIn>>;
      try {
        started = await beginOidcSignIn(deps, provider, request.ip);
      } catch (error) {
        if (!(error instanceof KeysUnavailableError)) throw error;
        const reason = "the identity provider could not be reached; try again shortly";
        throw await refuseWith(request, { ok: false, code: "provider_unavailable", reason }, "console sign-in");
      }
      reply
        .header("set-cookie", pendingCookie(started.browserToken, Math.floor(PENDING_SIGN_IN_MS / 1000)))
        .header("cache-control", "no-store")
        .header("referrer-policy", "no-referrer");
      return reply.redirect(started.authorizationUrl, 302);
    },
  );

  app.get(
    CALLBACK_PATH,
    {
      schema: {
        summary: "The identity provider's redirect back: opens the console session",
        description:
          "Checks the state against this browser's sign-in, exchanges the code, verifies the ID token (issuer, " +
          "audience, expiry, nonce, signature by the provider's published keys) and maps its claims to the person. " +
          "Answers 302 to the console with the session cookie, or a problem naming what was wrong; every outcome is " +
          "audited.",
        tags: ["console"],
        security: [],
        querystring: Type.Object({
          code: Type.Optional(Type.String({ maxLength: 2048 })),
          state: Type.Optional(Type.String({ maxLength: 512 })),
          error: Type.Optional(Type.String({ maxLength: 256 })),
          error_description: Type.Optional(Type.String({ maxLength: 2048 })),
          iss: Type.Optional(Type.String({ maxLength: 2048 })),
          session_state: Type.Optional(Type.String({ maxLength: 2048 })),
        }),
        response: { 302: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const provider = await attempt(request, reply, false);
      const query = request.query;
      reply.header("cache-control", "no-store").header("referrer-policy", "no-referrer");
      // RFC 9207: a provider that names itself must be the one this sign-in went to (mix-up defence).
      if (query.iss !== undefined && query.iss !== provider.settings.issuer) {
        throw await refuseWith(
          request,
          { ok: false, code: "wrong_issuer", reason: "the callback names another identity provider (iss)" },
          "console sign-in",
        );
      }
      const result = await completeOidcSignIn(
        deps,
        provider,
        sessions,
        {
          browserToken: cookieValue(request.headers.cookie, PENDING_COOKIE),
          state: query.state,
          code: query.code,
          error: query.error,
        },
        request.ip,
      );
      if (!result.ok) throw await refuseWith(request, result, "console sign-in");
      const maxAge = Math.max(0, Math.floor((result.session.expiresAt - deps.clock.now()) / 1000));
      reply.header("set-cookie", [sessionCookie(result.token, maxAge, secure), pendingCookie("", 0)]);
      return reply.redirect("/ui/", 302);
    },
  );

  app.post(
    PERSON_SESSION_PATH,
    {
      schema: {
        summary: "Exchange a person's ID token (from the device grant) for a short-lived broker session",
        description:
          "For the command line: the ID token must come from the configured provider for the command line's own " +
          "client id (console.signIn.oidc.cliClientId) and is verified like the console's. Answers 201 with an opaque " +
          "`ephs_…` bearer token for that person, valid on every API route until `expiresAt` (the ID token's expiry " +
          "or cliSessionTtl, whichever is first), or until the person is offboarded. Each ID token opens one session.",
        tags: ["console"],
        security: [],
        body: PersonSessionBodySchema,
        response: { 201: PersonSessionSchema, ...errors },
      },
    },
    async (request, reply) => {
      const provider = await attempt(request, reply);
      const result = await openPersonSession(deps, provider, request.body.idToken, request.ip);
      if (!result.ok) throw await refuseWith(request, result, "command-line sign-in");
      reply.code(201).header("cache-control", "no-store");
      return {
        token: result.token,
        tokenType: "Bearer" as const,
        expiresAt: new Date(result.expiresAt).toISOString(),
        identity: presentSessionIdentity(result.identity, services),
      };
    },
  );
}
