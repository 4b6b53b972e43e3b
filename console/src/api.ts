// The console's only way to the broker: its HTTP API, with the session cookie the broker set and the CSRF token it
// answered (kept in memory only; a reload asks GET /v1/sessions for it again). No key or token is put in storage.
// The answers' types are derived from the broker's wire schemas (src/wire/), imported as types only: no server code
// reaches the bundle.
import type { Static } from "typebox";
import type {
  AuditEventSchema,
  EvidenceSchema,
  GrantSchema,
  IdentitySchema,
  OffboardResultSchema,
  PrivilegeReportSchema,
  ReceiptSchema,
  RequestSchema,
  SessionSchema,
  SignInMethodsSchema,
  SignOutSchema,
} from "../../src/wire/index.js";

/** Who signed in, the CSRF token to echo on every change, and when the session ends. */
export type SessionInfo = Static<typeof SessionSchema>;

/** How people may sign in (GET /v1/sessions/methods). */
export type SignInMethods = Static<typeof SignInMethodsSchema>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["x-csrf-token"] = csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    cache: "no-store",
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (!response.ok) {
    const detail = typeof json.detail === "string" ? json.detail : typeof json.title === "string" ? json.title : "";
    throw new ApiError(
      response.status,
      typeof json.code === "string" ? json.code : "error",
      detail || response.statusText,
    );
  }
  return json as T;
}

export const api = {
  get: <T>(path: string) => call<T>("GET", path),
  post: <T>(path: string, body: unknown = {}) => call<T>("POST", path, body),
  async signIn(apiKey: string): Promise<SessionInfo> {
    const session = await call<SessionInfo>("POST", "/v1/sessions", { apiKey });
    csrfToken = session.csrfToken;
    return session;
  },
  async resume(): Promise<SessionInfo | null> {
    try {
      const session = await call<SessionInfo | undefined>("GET", "/v1/sessions");
      if (!session) return null;
      csrfToken = session.csrfToken;
      return session;
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 404)) return null;
      throw error;
    }
  },
  signInMethods: () => call<SignInMethods>("GET", "/v1/sessions/methods"),
  /** Ends the session; answers the provider's logout URL when the session came from it and it offers one. */
  async signOut(): Promise<string | null> {
    try {
      const answer = await call<Static<typeof SignOutSchema> | undefined>("DELETE", "/v1/sessions");
      return answer?.logoutUrl ?? null;
    } finally {
      csrfToken = null;
    }
  },
};

/** An API answer the page can show: data, an error, or still loading. */
export type Loaded<T> =
  | { state: "loading" }
  | { state: "error"; error: string; status: number }
  | { state: "ok"; data: T };

export function describe(error: unknown): { error: string; status: number } {
  if (error instanceof ApiError) return { error: `${error.message} (${error.code})`, status: error.status };
  return { error: error instanceof Error ? error.message : String(error), status: 0 };
}

/** GET /v1/requests/{id} and the request lists. */
export type Request = Static<typeof RequestSchema>;

/** One check verification made downstream, and what it saw (GET /v1/grants/{id}: evidence, receipt.verification). */
export type Check = Evidence["checks"][number];

export type Evidence = Static<typeof EvidenceSchema>;

/** The removal receipt as GET /v1/grants/{id} presents it. */
export type Receipt = Static<typeof ReceiptSchema>;

export type Grant = Static<typeof GrantSchema>;

/** GET /v1/report. */
export type PrivilegeReport = Static<typeof PrivilegeReportSchema>;

/** GET /v1/identities entries. */
export type Identity = Static<typeof IdentitySchema>;

/** POST /v1/identities/{id}/offboard. */
export type OffboardResult = Static<typeof OffboardResultSchema>;

export type AuditEvent = Static<typeof AuditEventSchema>;
