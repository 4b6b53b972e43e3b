// The console's only way to the broker: its HTTP API, with the session cookie the broker set and the CSRF token it
// answered (kept in memory only; a reload asks GET /v1/sessions for it again). No key or token is put in storage.

export interface SessionInfo {
  identity: { id: string; kind: string; owner: string | null; groups: string[]; admin: boolean };
  csrfToken: string;
  expiresAt: string;
}

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
  async signOut(): Promise<void> {
    try {
      await call<void>("DELETE", "/v1/sessions");
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

export interface Request {
  id: string;
  identity: string;
  entitlement: string;
  durationSeconds: number;
  justification: string | null;
  ticket: string | null;
  intent: { task: string | null; actions: string[]; description: string | null } | null;
  breakGlass: boolean;
  state: string;
  stateReason: string | null;
  decision: {
    outcome: string;
    approval: string;
    reason: string;
    policies: string[];
    maxDurationSeconds: number | null;
    approvers: { group: string; count: number }[];
    flags: string[];
  } | null;
  requestHash: string;
  approvals: { approver: string; at: string; groups: string[]; note: string | null; current: boolean }[];
  dueAt: string | null;
  review: {
    dueAt: string;
    reviewedBy: string | null;
    reviewedAt: string | null;
    outcome: string | null;
    note: string | null;
    overdue: boolean;
  } | null;
  createdAt?: string;
  grantId?: string | null;
}

/** One check verification made downstream, and what it saw (GET /v1/grants/{id}: evidence, receipt.verification). */
export interface Check {
  check: string;
  passed: boolean;
  observed: string;
}

export interface Evidence {
  checkedAt: string | null;
  checks: Check[];
}

/** The removal receipt as GET /v1/grants/{id} presents it (src/http/present.ts presentReceipt). */
export interface Receipt {
  removed: string[];
  sessionsEnded: { count: number; ids: string[] } | null;
  revokedAt: string | null;
  verification: Evidence | null;
  verifiedAt: string | null;
  firstUsedAt: string | null;
  lastUsedAt: string | null;
  /** true: the target records every use and showed none; false: seen in use; null: use could have gone unseen. */
  unused: boolean | null;
  /** How use was looked for (definitive, polled, introspection, none), and what that can miss. */
  usageObservation?: { method: string; detail: string };
}

export interface Grant {
  id: string;
  requestId: string | null;
  identity: string;
  target: string;
  entitlement: string;
  connectorType: string;
  handle: string;
  state: string;
  removed: boolean;
  createdAt: string | null;
  issuedAt: string | null;
  expiresAt: string | null;
  maxExpiresAt: string | null;
  renewals: number;
  endReason: string | null;
  endedAt: string | null;
  endedBy: string | null;
  removalAttempts: number;
  lastError: string | null;
  revokedAt: string | null;
  verifiedAt: string | null;
  evidence: Evidence | null;
  firstUsedAt: string | null;
  lastUsedAt: string | null;
  receipt: Receipt | null;
}

/** GET /v1/report (src/http/routes/report.ts PrivilegeReportSchema). */
export interface PrivilegeReport {
  from: string;
  to: string;
  grants: {
    issued: number;
    ended: number;
    verifiedRemoval: number;
    /** verifiedRemoval ÷ ended; null when none has ended. */
    verifiedShare: number | null;
    overrunsOver2s: number;
    /** Proven never used (the target records every use). */
    unused: number;
    /** Ended grants whose use could have gone unseen. */
    usageNotObservable: number;
    renewals: number;
  };
  /** issue → verified removal; null when none is verified. */
  privilegeSeconds: { median: number | null; p99: number | null };
  standing: { target: string; accounts: number }[];
  discoveredAt: string | null;
}

/** GET /v1/identities entries (src/http/routes/identities.ts IdentitySchema). */
export interface Identity {
  id: string;
  kind: string;
  owner: string | null;
  unowned: boolean;
  groups: string[];
  attributes: Record<string, string>;
  admin: boolean;
  status: string;
  statusReason: string | null;
  source: string;
  firstSeenAt: string | null;
  lastSeenAt: string | null;
  createdAt: string;
  updatedAt: string;
  activeGrants: number;
  activeGrantIds: string[];
}

/** POST /v1/identities/{id}/offboard. */
export interface OffboardResult {
  identity: Identity;
  correlationId: string | null;
  changed: boolean;
  grants: { id: string; target: string; state: string }[];
  removalsPending: number;
  cancelledRequests: string[];
  inProgress: { id: string; state: string }[];
}

export interface AuditEvent {
  seq: number;
  time: string;
  code: string;
  severity: string;
  outcome: string;
  actor: { type: string; id: string };
  requestId: string | null;
  grantId: string | null;
  identityId: string | null;
  data: Record<string, unknown>;
}
