// Console sessions: opened at sign-in, checked on every call and ended at sign-out, each change committed with its
// audit event. A session is kept server-side in the store's key/value table under a hash of its token; the caller
// (the HTTP layer) hands the token to the browser and asks for the CSRF token back on every change.
import { createHash, randomBytes } from "node:crypto";
import type { Identity, Millis } from "../../domain/index.js";
import { StateNamespace, type Write } from "../../storage/index.js";
import { mayUseConsole } from "../queries/may-use-console.js";
import { actorOf, draft } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { refuse } from "../shared/refuse.js";

export const SESSION_NAMESPACE = "console.session";
/** The `method` of a session a person opened through the company's identity provider. */
export const OIDC_METHOD = "oidc";
/** A session lasts this long from sign-in, however active; then the person signs in again. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
/** Activity is written to the store at most this often per session (the idle clock's resolution). */
const ACTIVITY_RESOLUTION_MS = 60 * 1000;

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
  /** The provider's ID token of an OIDC sign-in, kept only to hint RP-initiated logout at sign-out. */
  readonly idTokenHint?: string;
}

/** Sessions by the hash of their token, each expiring at the end of its lifetime. */
const sessions = new StateNamespace<StoredSession>(SESSION_NAMESPACE);

/** Whether the credential a session signed in with still admits `identityId` (an API key not removed, say). */
export type CredentialCheck = (method: string, credentialId: string, identityId: string) => Promise<boolean>;

export interface ConsoleSession {
  readonly id: string;
  readonly identity: Identity;
  readonly csrfToken: string;
  readonly expiresAt: Millis;
}

const hashOf = (token: string) => createHash("sha256").update(token, "utf8").digest("hex");
const randomSecret = () => randomBytes(32).toString("base64url");

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

  /**
   * Opens a session for `identity`, signed in by `how`; answers its token (shown once, kept only as a hash) and the
   * session. Refused (403, audited) when the identity may not use the console. A person signed in through the identity
   * provider passes `until` (the ID token's expiry: the session ends then at the latest), the token as a logout hint,
   * and the writes that consume the sign-in (committed with the session, or not at all).
   */
  async open(
    identity: Identity,
    how: { method: string; credentialId: string; source: string },
    person?: { readonly until: Millis; readonly idTokenHint: string; readonly writes: readonly Write[] },
  ): Promise<{ token: string; session: ConsoleSession }> {
    if (!this.#mayUse(how.method, identity)) {
      throw await refuse(this.deps, identity, {
        auditCode: "auth.forbidden",
        errorCode: "forbidden",
        message: "the console is for admins and approvers",
      });
    }
    const now = this.deps.clock.now();
    const token = randomSecret();
    const stored: StoredSession = {
      id: randomBytes(9).toString("base64url"),
      identityId: identity.id,
      csrf: randomSecret(),
      method: how.method,
      credentialId: how.credentialId,
      createdAt: now,
      expiresAt: Math.min(now + SESSION_TTL_MS, person?.until ?? Number.POSITIVE_INFINITY),
      ...(person ? { idTokenHint: person.idTokenHint } : {}),
    };
    await commit(this.deps, {
      writes: [...(person?.writes ?? []), sessions.put(hashOf(token), stored, stored.expiresAt)],
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
    return { token, session: { id: stored.id, identity, csrfToken: stored.csrf, expiresAt: stored.expiresAt } };
  }

  /**
   * The live session the token names, with its identity as registered now; null when unknown, past its lifetime,
   * idle too long, signed in with a credential that is no longer valid (a removed API key), or its identity may no
   * longer use the console (offboarded, no longer an approver or admin). Checked on every call.
   */
  async resolve(token: string): Promise<ConsoleSession | null> {
    const key = hashOf(token);
    const state = await sessions.in(this.deps.store).get(key);
    if (!state || !isStored(state.value)) return null;
    const stored = state.value;
    const now = this.deps.clock.now();
    if (stored.expiresAt <= now) return null;
    const lastActiveAt = stored.lastActiveAt ?? stored.createdAt;
    if (now - lastActiveAt >= this.idleMs) return null;
    if (stored.credentialId === undefined) return null;
    if (!(await this.credentialValid(stored.method, stored.credentialId, stored.identityId))) return null;
    const identity = await this.deps.catalog.identity(stored.identityId);
    if (!identity || !this.#mayUse(stored.method, identity)) return null;
    const written = this.#activityWritten.get(key) ?? 0;
    if (now - lastActiveAt >= ACTIVITY_RESOLUTION_MS && now - written >= ACTIVITY_RESOLUTION_MS) {
      this.#activityWritten.set(key, now);
      if (this.#activityWritten.size > 10_000) this.#activityWritten.clear();
      await this.#markActive(key, stored, identity, now);
    }
    return { id: stored.id, identity, csrfToken: stored.csrf, expiresAt: stored.expiresAt };
  }

  /**
   * Admins and approvers may use the console with an API key. A person signed in through the company's identity
   * provider may use it whatever policy lets them approve: they see what their identity may see, read-only where they
   * may not act. Either way only while the identity is active.
   */
  #mayUse(method: string, identity: Identity): boolean {
    if (method === OIDC_METHOD) return identity.kind === "human" && identity.status === "active";
    return mayUseConsole(this.deps, identity, this.entitlements());
  }

  /** Moves the idle clock, at most once a minute per session, on every replica alike (it is in the store). */
  async #markActive(key: string, stored: StoredSession, identity: Identity, now: Millis): Promise<void> {
    await commit(this.deps, {
      writes: [sessions.put(key, { ...stored, lastActiveAt: now }, stored.expiresAt)],
      audit: [
        draft("console.session_active", now, actorOf(identity), { identityId: identity.id }, { session: stored.id }),
      ],
    });
  }

  /** Ends the session the token names (sign-out); answers the ID token it was opened with, for the logout hint. */
  async close(token: string, session: ConsoleSession): Promise<{ idTokenHint: string | null }> {
    const state = await sessions.in(this.deps.store).get(hashOf(token));
    const idTokenHint = state && isStored(state.value) ? (state.value.idTokenHint ?? null) : null;
    await commit(this.deps, {
      writes: [sessions.delete(hashOf(token))],
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
    return { idTokenHint };
  }
}
