// Console sessions over HTTP: the browser holds the session's token only in an HttpOnly cookie, and must echo the
// session's CSRF token in a header on every state-changing call. The sessions themselves live in the lifecycle.
import type { AuthenticationFacts } from "../../identity/index.js";
import type { ConsoleSession } from "../../lifecycle/index.js";
import { sameSecret } from "../../support/index.js";

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
