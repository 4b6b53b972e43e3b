// Broker sessions of people on the command line: `ephs_<id>_<secret>` bearer tokens opened with an ID token from the
// company's identity provider. Stored only as SHA-256 hashes, each expiring with its ID token or sooner; the person's
// identity is read on every call, so offboarding ends every session at once, on every replica.
import { createHash, randomBytes } from "node:crypto";
import type { Identity, Millis } from "../domain/index.js";
import { StateNamespace, type StateReader } from "../storage/index.js";
import type { Clock } from "../support/index.js";
import { randomToken } from "../support/index.js";
import { bearer } from "./api-keys.js";
import { type Authenticator, type AuthResult, inactiveIdentity, type Presented } from "./authenticator.js";

export const PERSON_SESSION_PREFIX = "ephs_";
export const PERSON_SESSION_METHOD = "person_session";
const TOKEN_FORMAT = /^ephs_([0-9a-z]{16})_([A-Za-z0-9_-]{43})$/;

/** What the store keeps of a session, under the hash of its token. */
export interface StoredPersonSession {
  readonly id: string;
  readonly identityId: string;
  readonly createdAt: Millis;
  readonly expiresAt: Millis;
}

export const personSessions = new StateNamespace<StoredPersonSession>("auth.person_session");

/** 256 random bits, so one fast hash is enough, as for API keys. */
export function hashPersonSession(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export function newPersonSessionToken(): { token: string; id: string; hash: string } {
  const id = randomToken(16);
  const token = `${PERSON_SESSION_PREFIX}${id}_${randomBytes(32).toString("base64url")}`;
  return { token, id, hash: hashPersonSession(token) };
}

function isStored(value: unknown): value is StoredPersonSession {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.id === "string" && typeof v.identityId === "string" && typeof v.expiresAt === "number";
}

export class PersonSessionAuthenticator implements Authenticator {
  readonly type = PERSON_SESSION_METHOD;

  constructor(
    private readonly store: StateReader,
    private readonly clock: Clock,
    /** The identity as registered now. */
    private readonly identities: (id: string) => Promise<Identity | undefined>,
  ) {}

  accepts(presented: Presented): boolean {
    return bearer(presented)?.startsWith(PERSON_SESSION_PREFIX) ?? false;
  }

  async authenticate(presented: Presented): Promise<AuthResult> {
    const token = bearer(presented);
    if (token === undefined || !TOKEN_FORMAT.test(token))
      return { ok: false, reason: "the session token is malformed" };
    // Looked up by the hash of the whole token: the lookup itself compares nothing secret.
    const entry = await personSessions.in(this.store).get(hashPersonSession(token));
    if (!entry || !isStored(entry.value)) return { ok: false, reason: "the session is not recognised; sign in again" };
    const session = entry.value;
    if (session.expiresAt <= this.clock.now()) return { ok: false, reason: "the session has expired; sign in again" };
    const identity = await this.identities(session.identityId);
    if (!identity) return { ok: false, reason: "the session's identity is no longer known" };
    if (identity.status !== "active") return inactiveIdentity(identity);
    return { ok: true, identity, method: this.type, credentialId: session.id, claims: {}, singleUse: null };
  }
}
