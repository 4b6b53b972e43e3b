// Console sessions over HTTP: the browser holds the session's token only in an HttpOnly cookie, and must echo the
// session's CSRF token in a header on every state-changing call. The sessions themselves live in the lifecycle.
import type { Identity } from "../../domain/index.js";
import type { AuthenticationFacts } from "../../identity/index.js";
import { type ConsoleSession, privilegesOf } from "../../lifecycle/index.js";
import { sameSecret } from "../../support/index.js";
import type { HttpServices } from "../route-context.js";

export const SESSION_COOKIE = "ephemera_session";
export { CSRF_HEADER } from "../../wire/index.js";

/** Whether `presented` is the session's CSRF token (constant time). */
export function csrfMatches(session: ConsoleSession, presented: string | string[] | undefined): boolean {
  return typeof presented === "string" && presented.length > 0 && sameSecret(presented, session.csrfToken);
}

/** The facts a request authenticated by a console session carries (no claims, nothing single-use). */
export function sessionFacts(session: ConsoleSession): AuthenticationFacts {
  return { method: "console_session", credentialId: session.id, claims: {}, singleUse: null };
}

/** The value of cookie `name` in a `Cookie` header, if any. */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const at = part.indexOf("=");
    if (at < 0) continue;
    if (part.slice(0, at).trim() === name) {
      const value = part.slice(at + 1).trim();
      return value.length > 0 && value.length <= 128 ? value : null;
    }
  }
  return null;
}

/** The `Set-Cookie` value of the console session: HttpOnly, SameSite=Strict, Secure over HTTPS; empty and 0 clear it. */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? "; Secure" : ""}`;
}

/** Whether cookies should be marked Secure: the broker is served, or reached, over HTTPS. */
export function secureCookies(tls: unknown, publicUrl: string | undefined): boolean {
  return Boolean(tls) || (publicUrl ?? "").startsWith("https:");
}

/** Where people sign in through the identity provider (see routes/oidc-sessions.ts). */
export const AUTHORIZE_PATH = "/v1/sessions/oidc/authorize";
export const CALLBACK_PATH = "/v1/sessions/oidc/callback";
export const PERSON_SESSION_PATH = "/v1/sessions/oidc";

/** Calls made before there is a credential to check: each checks what it is given, and is audited and rate-limited. */
export const SIGN_IN_CALLS: ReadonlySet<string> = new Set([
  "POST /v1/sessions",
  "GET /v1/sessions/methods",
  `GET ${AUTHORIZE_PATH}`,
  `GET ${CALLBACK_PATH}`,
  `POST ${PERSON_SESSION_PATH}`,
]);

/** Who a session is for, as `SessionSchema.identity` shows it, with what policy lets them do now. */
export function presentSessionIdentity(i: Identity, services: HttpServices) {
  const privileges = privilegesOf(services.deps, i, services.connectors.keys());
  return {
    id: i.id,
    kind: i.kind,
    owner: i.owner ?? null,
    groups: [...i.groups],
    admin: privileges.includes("admin"),
    privileges,
  };
}
