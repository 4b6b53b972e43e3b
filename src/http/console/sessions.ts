// Console sessions: a person signs in once (an API key today; OIDC can be another `ConsoleSignIn`), the broker keeps the
// session server-side in the store's key/value table under a hash of its token, and the browser holds only an
// HttpOnly cookie plus a CSRF token it must echo in a header on every state-changing call.
import { createHash, randomBytes } from "node:crypto";
import type { Identity, Millis } from "../../domain/types.js";
import type { AuthenticatorChain } from "../../identity/authenticate.js";
import type { AuthenticationFacts } from "../../identity/authenticator.js";
import { actorOf, draft } from "../../lifecycle/audit-draft.js";
import { commit } from "../../lifecycle/commit.js";
import type { LifecycleDeps } from "../../lifecycle/deps.js";
import { evaluateRequest, NO_FACTS } from "../../lifecycle/policy/evaluate-request.js";
import { sameSecret } from "../../support/secret.js";

export const SESSION_NAMESPACE = "console.session";
export const SESSION_COOKIE = "ephemera_session";
export { CSRF_HEADER } from "../../wire/index.js";
/** A session lasts this long from sign-in, however active; then the person signs in again. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
/** Activity is written to the store at most this often per session (the idle clock's resolution). */
const ACTIVITY_RESOLUTION_MS = 60 * 1000;

/** What a sign-in method proves: who signed in and how (for the audit event), or why not (never echoing a secret). */
export type SignInResult =
  | { readonly ok: true; readonly identity: Identity; readonly method: string; readonly credentialId: string }
  | { readonly ok: false; readonly reason: string };

/**
 * One way to sign in to the console. The API-key method is built in; an OIDC authorization-code method would be
 * another implementation whose `signIn` receives the callback's parameters instead of a pasted key.
 */
export interface ConsoleSignIn {
  readonly method: string;
  signIn(presented: Readonly<Record<string, unknown>>): Promise<SignInResult>;
}

/** Sign-in with a pasted API key, checked by the broker's own API-key authenticator. */
export class ApiKeySignIn implements ConsoleSignIn {
  readonly method = "api_key";
  constructor(private readonly auth: AuthenticatorChain) {}

  async signIn(presented: Readonly<Record<string, unknown>>): Promise<SignInResult> {
    const key = presented.apiKey;
    if (typeof key !== "string" || key.length === 0) return { ok: false, reason: "apiKey is required" };
    const result = await this.auth.authenticate({ authorization: `Bearer ${key}` });
    if (!result.ok) return { ok: false, reason: result.reason };
    if (result.method !== "api_key")
      return { ok: false, reason: "the console accepts an API key, not a workload token" };
    return { ok: true, identity: result.identity, method: result.method, credentialId: result.credentialId };
  }
}

/** Who may use the console: admins, and identities that policy lets approve at least one configured entitlement. */
export function mayUseConsole(deps: LifecycleDeps, identity: Identity, entitlements: readonly string[]): boolean {
  if (identity.status !== "active") return false;
  if (identity.admin) return true;
  for (const name of entitlements) {
    const spec = deps.catalog.entitlement(name);
    if (!spec) continue;
    const verdict = evaluateRequest(deps, identity, spec, 60, {}, NO_FACTS, "approve");
    if (verdict.outcome === "allow") return true;
  }
  return false;
}

interface StoredSession {
  readonly id: string;
  readonly identityId: string;
  readonly csrf: string;
  readonly method: string;
  /** The credential that signed in (an API key's id, never the key): the session ends when it is no longer valid. */
  readonly credentialId?: string;
  readonly createdAt: Millis;
  readonly expiresAt: Millis;
  /** When the session was last used, to the minute; absent until its first use after sign-in. */
  readonly lastActiveAt?: Millis;
}

/** Whether the credential a session signed in with still admits `identityId` (an API key not removed, say). */
export type CredentialCheck = (method: string, credentialId: string, identityId: string) => Promise<boolean>;

export interface ConsoleSession {
  readonly id: string;
  readonly identity: Identity;
  readonly csrfToken: string;
  readonly expiresAt: Millis;
}

const hashOf = (token: string) => createHash("sha256").update(token, "utf8").digest("hex");
const token = () => randomBytes(32).toString("base64url");

function isStored(value: unknown): value is StoredSession {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.id === "string" &&
    typeof v.identityId === "string" &&
    typeof v.csrf === "string" &&
    typeof v.expiresAt === "number"
  );
}

export class ConsoleSessions {
  /** When this process last wrote a session's activity: several calls at once write it once. */
  readonly #activityWritten = new Map<string, Millis>();

  constructor(
    private readonly deps: LifecycleDeps,
    /** Full names (`target/entitlement`) of every configured entitlement, for the approver check. */
    private readonly entitlements: () => readonly string[],
    /** Whether the credential a session signed in with still admits its identity. */
    private readonly credentialValid: CredentialCheck,
    /** A session unused this long ends (`console.idleTimeout`). */
    private readonly idleMs: number,
  ) {}

  mayUse(identity: Identity): boolean {
    return mayUseConsole(this.deps, identity, this.entitlements());
  }

  /** Opens a session for `identity`; answers the cookie value (shown once) and the session. */
  async open(
    identity: Identity,
    how: { method: string; credentialId: string; source: string },
  ): Promise<{ cookie: string; session: ConsoleSession }> {
    const now = this.deps.clock.now();
    const cookie = token();
    const stored: StoredSession = {
      id: randomBytes(9).toString("base64url"),
      identityId: identity.id,
      csrf: token(),
      method: how.method,
      credentialId: how.credentialId,
      createdAt: now,
      expiresAt: now + SESSION_TTL_MS,
    };
    await commit(this.deps, {
      writes: [
        {
          kind: "putState",
          namespace: SESSION_NAMESPACE,
          key: hashOf(cookie),
          value: stored,
          expiresAt: stored.expiresAt,
        },
      ],
      audit: [
        draft(
          "console.signed_in",
          now,
          actorOf(identity),
          { identityId: identity.id },
          {
            session: stored.id,
            method: how.method,
            // Kept only as keyed HMACs, like every other event's credential id and source address.
            credentialIdHmac: this.deps.auditHmac.tag(how.credentialId),
            sourceAddressHmac: this.deps.auditHmac.tag(how.source),
            expiresAt: new Date(stored.expiresAt).toISOString(),
          },
        ),
      ],
    });
    return { cookie, session: { id: stored.id, identity, csrfToken: stored.csrf, expiresAt: stored.expiresAt } };
  }

  /**
   * The live session the cookie names, with its identity as registered now; null when unknown, past its lifetime,
   * idle too long, signed in with a credential that is no longer valid (a removed API key), or its identity may no
   * longer use the console (offboarded, no longer an approver or admin). Checked on every call.
   */
  async resolve(cookie: string): Promise<ConsoleSession | null> {
    const key = hashOf(cookie);
    const state = await this.deps.store.getState(SESSION_NAMESPACE, key);
    if (!state || !isStored(state.value)) return null;
    const stored = state.value;
    const now = this.deps.clock.now();
    if (stored.expiresAt <= now) return null;
    const lastActiveAt = stored.lastActiveAt ?? stored.createdAt;
    if (now - lastActiveAt >= this.idleMs) return null;
    if (stored.credentialId === undefined) return null;
    if (!(await this.credentialValid(stored.method, stored.credentialId, stored.identityId))) return null;
    const identity = await this.deps.catalog.identity(stored.identityId);
    if (!identity || !this.mayUse(identity)) return null;
    const written = this.#activityWritten.get(key) ?? 0;
    if (now - lastActiveAt >= ACTIVITY_RESOLUTION_MS && now - written >= ACTIVITY_RESOLUTION_MS) {
      this.#activityWritten.set(key, now);
      if (this.#activityWritten.size > 10_000) this.#activityWritten.clear();
      await this.#markActive(key, stored, identity, now);
    }
    return { id: stored.id, identity, csrfToken: stored.csrf, expiresAt: stored.expiresAt };
  }

  /** Moves the idle clock, at most once a minute per session, on every replica alike (it is in the store). */
  async #markActive(key: string, stored: StoredSession, identity: Identity, now: Millis): Promise<void> {
    await commit(this.deps, {
      writes: [
        {
          kind: "putState",
          namespace: SESSION_NAMESPACE,
          key,
          value: { ...stored, lastActiveAt: now },
          expiresAt: stored.expiresAt,
        },
      ],
      audit: [
        draft("console.session_active", now, actorOf(identity), { identityId: identity.id }, { session: stored.id }),
      ],
    });
  }

  /** Whether `presented` is the session's CSRF token (constant time). */
  csrfMatches(session: ConsoleSession, presented: string | string[] | undefined): boolean {
    return typeof presented === "string" && presented.length > 0 && sameSecret(presented, session.csrfToken);
  }

  async close(cookie: string, session: ConsoleSession): Promise<void> {
    await commit(this.deps, {
      writes: [{ kind: "deleteState", namespace: SESSION_NAMESPACE, key: hashOf(cookie) }],
      audit: [
        draft(
          "console.signed_out",
          this.deps.clock.now(),
          actorOf(session.identity),
          { identityId: session.identity.id },
          { session: session.id },
        ),
      ],
    });
  }
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
