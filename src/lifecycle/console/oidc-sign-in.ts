// People sign in with the company's identity provider. The console's sign-in is an authorization-code flow with PKCE:
// `beginOidcSignIn` keeps the state, nonce and code verifier server-side under a hash of a browser-bound token and
// answers where to send the browser; `completeOidcSignIn` takes the callback, checks the state in constant time,
// exchanges the code, verifies the ID token and opens a console session. `openPersonSession` exchanges an ID token a
// command line got (device grant) for a short-lived broker session. Refusals are answered, not thrown, so the HTTP
// layer audits each through its refusal digest; successes commit with their audit events.
import { createHash, randomBytes } from "node:crypto";
import type { Identity, Millis } from "../../domain/index.js";
import {
  hashPersonSession,
  newPersonSessionToken,
  PERSON_SESSION_METHOD,
  type PersonRefusal,
  type PersonSignIn,
  personSessions,
} from "../../identity/index.js";
import { ConflictError, StateNamespace, type Write } from "../../storage/index.js";
import { sameSecret } from "../../support/index.js";
import { actorOf, draft } from "../shared/audit-draft.js";
import { commit } from "../shared/commit.js";
import type { LifecycleDeps } from "../shared/deps.js";
import { SINGLE_USE_NAMESPACE } from "../shared/single-use.js";
import { type ConsoleSession, type ConsoleSessions, OIDC_METHOD } from "./console-sessions.js";

/** How long a browser has to come back from the provider. */
export const PENDING_SIGN_IN_MS = 10 * 60 * 1000;

interface PendingSignIn {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly createdAt: Millis;
}

const pending = new StateNamespace<PendingSignIn>("console.oidc_pending");
const usedIdTokens = new StateNamespace<{ readonly what: string; readonly claimedAt: Millis }>(SINGLE_USE_NAMESPACE);

const hashOf = (token: string) => createHash("sha256").update(token, "utf8").digest("hex");
const randomSecret = () => randomBytes(32).toString("base64url");

/** A refused sign-in: what to audit and answer. `code` is stable; `reason` names what was wrong, never a secret. */
export type SignInRefusal = (
  | PersonRefusal
  | {
      readonly ok: false;
      readonly code: "wrong_state" | "no_sign_in" | "provider_error" | "replayed";
      readonly reason: string;
    }
) & {
  /** True when the refusal's audit event is already committed (with the consumed sign-in); else the caller audits it. */
  readonly audited?: true;
};

function refused(code: "wrong_state" | "no_sign_in" | "provider_error" | "replayed", reason: string): SignInRefusal {
  return { ok: false, code, reason };
}

/**
 * Starts a sign-in: answers the token the browser keeps (in a short-lived cookie) and the provider's authorization URL.
 */
export async function beginOidcSignIn(
  deps: LifecycleDeps,
  signIn: PersonSignIn,
  source: string,
): Promise<{ browserToken: string; authorizationUrl: string }> {
  const now = deps.clock.now();
  const browserToken = randomSecret();
  const stored: PendingSignIn = {
    state: randomSecret(),
    nonce: randomSecret(),
    codeVerifier: randomSecret(),
    createdAt: now,
  };
  // Asked before anything is written: a provider that cannot be reached leaves nothing behind.
  const authorizationUrl = await signIn.authorizationUrl(stored);
  await commit(deps, {
    writes: [pending.put(hashOf(browserToken), stored, now + PENDING_SIGN_IN_MS)],
    audit: [
      draft(
        "console.sign_in_started",
        now,
        actorOf(null),
        {},
        {
          method: OIDC_METHOD,
          issuer: signIn.settings.issuer,
          sourceAddressHmac: deps.auditHmac.tag(source),
        },
      ),
    ],
  });
  return { browserToken, authorizationUrl };
}

export interface OidcCallback {
  /** The token the browser kept from `beginOidcSignIn`; null when it sent none. */
  readonly browserToken: string | null;
  readonly state: string | undefined;
  readonly code: string | undefined;
  /** The provider's `error` parameter (the person declined, say). */
  readonly error: string | undefined;
}

/**
 * Completes a sign-in from the provider's callback. The pending sign-in is used once: it is consumed with the session
 * that it opens, or on any refusal after its state matched. The ID token is claimed once too, so neither a replayed
 * code nor a replayed token opens a second session.
 */
export async function completeOidcSignIn(
  deps: LifecycleDeps,
  signIn: PersonSignIn,
  sessions: ConsoleSessions,
  callback: OidcCallback,
  source: string,
): Promise<{ ok: true; token: string; session: ConsoleSession } | SignInRefusal> {
  if (callback.browserToken === null) {
    return refused("no_sign_in", "this browser has no sign-in in progress (or it took longer than 10 minutes)");
  }
  const key = hashOf(callback.browserToken);
  const entry = await pending.in(deps.store).get(key);
  const now = deps.clock.now();
  if (!entry || entry.value.createdAt + PENDING_SIGN_IN_MS <= now) {
    return refused("no_sign_in", "this browser has no sign-in in progress (or it took longer than 10 minutes)");
  }
  const started = entry.value;
  if (typeof callback.state !== "string" || !sameSecret(callback.state, started.state)) {
    // Left in place: a forged callback must not cancel the person's own sign-in in progress.
    return refused("wrong_state", "the state does not match the sign-in this browser started");
  }
  const consume = pending.delete(key);
  const giveUp = async (refusal: SignInRefusal): Promise<SignInRefusal> => {
    await commit(deps, {
      writes: [consume],
      audit: [
        draft(
          "auth.failed",
          deps.clock.now(),
          actorOf(null),
          {},
          {
            method: OIDC_METHOD,
            error: "unauthenticated",
            refused: refusal.code,
            reason: refusal.reason,
            sourceAddressHmac: deps.auditHmac.tag(source),
          },
          "denied",
        ),
      ],
    });
    return { ...refusal, audited: true };
  };
  if (callback.error !== undefined) {
    const error = /^[a-z_]{1,64}$/.test(callback.error) ? callback.error : "error";
    return giveUp(refused("provider_error", `the identity provider answered ${error} instead of a code`));
  }
  if (typeof callback.code !== "string" || callback.code.length === 0) {
    return giveUp(refused("provider_error", "the callback carries no code"));
  }
  const exchanged = await signIn.exchangeCode(callback.code, started.codeVerifier);
  if (!exchanged.ok) return giveUp(exchanged);
  const admitted = await signIn.admit(exchanged.idToken, { client: "console", nonce: started.nonce });
  if (!admitted.ok) return giveUp(admitted);
  const until = admitted.exp * 1000;
  try {
    const opened = await sessions.open(
      admitted.identity,
      { method: OIDC_METHOD, credentialId: admitted.replayKey, source },
      { until, idTokenHint: exchanged.idToken, writes: [consume, claimToken(admitted.replayKey, until, now)] },
    );
    return { ok: true, ...opened };
  } catch (error) {
    if (error instanceof ConflictError) {
      return giveUp(refused("replayed", "this ID token already opened a session"));
    }
    throw error;
  }
}

function claimToken(replayKey: string, until: Millis, now: Millis): Write {
  return usedIdTokens.claimOnce(
    `oidc-sign-in:${replayKey}`,
    { what: "id_token", claimedAt: now },
    Math.max(until, now + 1000),
    now,
  );
}

export interface PersonSessionOpened {
  readonly token: string;
  readonly expiresAt: Millis;
  readonly identity: Identity;
}

/**
 * Exchanges an ID token a command line got from the provider (for the CLI client) for a broker session: an opaque
 * bearer token, stored hashed, ending with the ID token or after `cliSessionTtl`, whichever is first. Each ID token
 * opens one session.
 */
export async function openPersonSession(
  deps: LifecycleDeps,
  signIn: PersonSignIn,
  idToken: string,
  source: string,
): Promise<({ ok: true } & PersonSessionOpened) | SignInRefusal> {
  const admitted = await signIn.admit(idToken, { client: "cli" });
  if (!admitted.ok) return admitted;
  const now = deps.clock.now();
  const expiresAt = Math.min(admitted.exp * 1000, now + signIn.settings.cliSessionTtlSeconds * 1000);
  const made = newPersonSessionToken();
  try {
    await commit(deps, {
      writes: [
        claimToken(admitted.replayKey, admitted.exp * 1000, now),
        personSessions.put(
          made.hash,
          { id: made.id, identityId: admitted.identity.id, createdAt: now, expiresAt },
          expiresAt,
        ),
      ],
      audit: [
        draft(
          "auth.session_opened",
          now,
          actorOf(admitted.identity),
          { identityId: admitted.identity.id },
          {
            method: PERSON_SESSION_METHOD,
            session: made.id,
            issuer: signIn.settings.issuer,
            credentialIdHmac: deps.auditHmac.tag(admitted.replayKey),
            sourceAddressHmac: deps.auditHmac.tag(source),
            expiresAt: new Date(expiresAt).toISOString(),
          },
        ),
      ],
    });
  } catch (error) {
    if (error instanceof ConflictError) return refused("replayed", "this ID token already opened a session");
    throw error;
  }
  return { ok: true, token: made.token, expiresAt, identity: admitted.identity };
}

/** Ends a command-line session (its sign-out): the session named by `sessionId`, presented as `token`. */
export async function closePersonSession(
  deps: LifecycleDeps,
  caller: Identity,
  token: string,
  sessionId: string,
): Promise<void> {
  await commit(deps, {
    writes: [personSessions.delete(hashPersonSession(token))],
    audit: [
      draft("auth.session_ended", deps.clock.now(), actorOf(caller), { identityId: caller.id }, { session: sessionId }),
    ],
  });
}
