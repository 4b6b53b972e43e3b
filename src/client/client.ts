// A small typed client for the broker's HTTP API: one method per endpoint over the transport in transport.ts.
import { type ChildEnvironmentInput, childEnvironment } from "./child-env.js";
import type { DpopProver } from "./dpop.js";
import { EphemeraApiError, EphemeraConfigError } from "./errors.js";
import { type FetchLike, headerText, normaliseUrl, segment, Transport } from "./transport.js";
import type {
  AccessRequest,
  AuditExportPage,
  AuditPage,
  AuditVerification,
  DiscoveryReport,
  Duration,
  EntitlementView,
  Grant,
  GrantFilter,
  GrantPage,
  IdentityFilter,
  IdentityPage,
  IdentityView,
  Introspection,
  OffboardResult,
  PendingResult,
  PrivilegeReport,
  RenewResult,
  ReplayedResult,
  RequestInput,
  RequestPage,
  RequestResult,
  RequestView,
  RotationResult,
  TargetSummary,
} from "./types.js";

export interface ClientOptions {
  /** The broker's base URL, e.g. http://127.0.0.1:8720. */
  readonly url: string;
  /** An API key (`ephk_…`) or workload JWT, sent as `Authorization: Bearer`. */
  readonly token: string;
  /** Defaults to the global fetch. */
  readonly fetch?: FetchLike;
  /** Give up on one call after this long (default 30 s; completing waits for removal to be verified). */
  readonly timeoutMs?: number;
  /** Tell the broker a person is driving this client (the CLI on a terminal), so policy can see it. */
  readonly interactive?: boolean;
  /** `cli` for the command line, `mcp` for `ephemera mcp`; absent for library use. */
  readonly clientKind?: "cli" | "mcp";
  /** With `mcp`: the AI agent's MCP client as it names itself, so policy and the audit event see it. */
  readonly clientInfo?: { readonly name: string; readonly version: string };
  /**
   * Send a DPoP proof (RFC 9449) made with this key on every call: requests and collections then get credentials
   * bound to it (`cnf.jkt`). See `dpopProver` and `loadDpopKeyFile`.
   */
  readonly dpop?: DpopProver;
}

/** True when the broker answered 202: approvers must agree before the credential can be collected. */
export function isPending(result: RequestResult | PendingResult | ReplayedResult): result is PendingResult {
  return !("credential" in result);
}

/**
 * True when the broker answered an Idempotency-Key retry (200): the request was made before, and the credential,
 * which the broker never stores, was shown to that first attempt only.
 */
export function isReplay(result: RequestResult | PendingResult | ReplayedResult): result is ReplayedResult {
  return "credential" in result && result.credential === null;
}

export interface RequestOptions {
  /**
   * Names this request for retries (1–255 printable ASCII characters, no spaces): the same key and body, within
   * 24 hours and on any replica, answer what the first attempt made instead of making a second grant.
   */
  readonly idempotencyKey?: string;
  /** The tool call behind this request (an MCP request id), recorded with it and readable by policy. */
  readonly toolCallId?: string;
  /** The credential will be shown to an AI model: policy sees `context.client.reveal` and the audit event is flagged. */
  readonly reveal?: boolean;
}

/** The broker's own rule for the Idempotency-Key header, checked before sending. */
export function checkIdempotencyKey(key: string): void {
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new EphemeraConfigError("idempotencyKey: must be 1–255 printable ASCII characters without spaces");
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;

export class EphemeraClient {
  /** The base URL without a trailing slash or userinfo; safe to show. */
  readonly url: string;
  readonly #token: string;
  readonly #http: Transport;

  constructor(options: ClientOptions) {
    this.url = normaliseUrl(options.url, "url");
    if (!/^[\x21-\x7e]+$/.test(options.token)) {
      throw new EphemeraConfigError("token: must be a non-empty API key or JWT without spaces");
    }
    this.#token = options.token;
    this.#http = new Transport({
      url: this.url,
      token: options.token,
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      clientHeaders: options.clientKind
        ? {
            "x-ephemera-client": `${options.clientKind}${options.interactive ? "; interactive" : ""}`,
            ...(options.clientInfo
              ? {
                  "x-ephemera-client-name": headerText(options.clientInfo.name),
                  "x-ephemera-client-version": headerText(options.clientInfo.version),
                }
              : {}),
          }
        : {},
      dpop: options.dpop,
    });
  }

  /**
   * The environment for a process handed a credential (see `childEnvironment`): nothing of the broker's is inherited,
   * and a variable holding this client's own token is withheld whatever its name.
   */
  childEnvironment(input: Omit<ChildEnvironmentInput, "callerToken">): Record<string, string> {
    return childEnvironment({ ...input, callerToken: this.#token });
  }

  /**
   * Asks for an entitlement: the grant and the credential (shown once) when policy approves at once, or the pending
   * request when approvers must agree first (collect it with `collect` once approved). Tell them apart with `isPending`.
   */
  request(input: RequestInput, options: RequestOptions = {}): Promise<RequestResult | PendingResult | ReplayedResult> {
    const headers: Record<string, string> = {};
    if (options.idempotencyKey !== undefined) {
      checkIdempotencyKey(options.idempotencyKey);
      headers["idempotency-key"] = options.idempotencyKey;
    }
    if (options.toolCallId !== undefined) headers["x-ephemera-tool-call"] = headerText(options.toolCallId);
    if (options.reveal === true) headers["x-ephemera-reveal"] = "true";
    return this.#http.call("POST", "/v1/requests", { json: input }, headers);
  }

  /**
   * Asks for an entitlement that must be issued now (a task about to run): resolves with the credential, or throws
   * EphemeraApiError `approval_required` (status 202, `problem.requestId`) when approvers must agree first.
   */
  async requestNow(input: RequestInput, options: RequestOptions = {}): Promise<RequestResult> {
    const answer = await this.request(input, options);
    if (isReplay(answer)) {
      const detail = `request ${answer.request.id} was already made with this Idempotency-Key; its credential was shown then`;
      throw new EphemeraApiError(200, "idempotent_replay", detail, {
        type: "urn:ephemera:problem:idempotent_replay",
        title: "Already requested",
        status: 200,
        detail,
        code: "idempotent_replay",
        requestId: answer.request.id,
        ...(answer.grant ? { grantId: answer.grant.id } : {}),
      });
    }
    if (!isPending(answer)) return answer;
    const detail = `request ${answer.request.id} needs approval before a credential is issued; collect it once approved`;
    throw new EphemeraApiError(202, "approval_required", detail, {
      type: "urn:ephemera:problem:approval_required",
      title: "Approval required",
      status: 202,
      detail,
      code: "approval_required",
      requestId: answer.request.id,
    });
  }

  getRequest(id: string): Promise<RequestView> {
    return this.#http.call("GET", `/v1/requests/${segment(id)}`);
  }

  /** Requests: your own and those you may approve (`state: "pending"` is an approver's queue); admins see all. */
  listRequests(
    filter: { state?: string | readonly string[]; identity?: string; after?: string; limit?: number } = {},
  ): Promise<RequestPage> {
    const query = new URLSearchParams();
    if (filter.state !== undefined) {
      const states: readonly string[] = typeof filter.state === "string" ? [filter.state] : filter.state;
      if (states.length > 0) query.set("state", states.join(","));
    }
    if (filter.identity !== undefined) query.set("identity", filter.identity);
    if (filter.after !== undefined) query.set("after", filter.after);
    if (filter.limit !== undefined) query.set("limit", String(filter.limit));
    const qs = query.toString();
    return this.#http.call("GET", `/v1/requests${qs ? `?${qs}` : ""}`);
  }

  /** Approves the request as it was when read: `requestHash` from `getRequest`; a changed request is refused (409). */
  approve(id: string, requestHash: string, note?: string): Promise<{ request: AccessRequest }> {
    return this.#http.call("POST", `/v1/requests/${segment(id)}/approve`, {
      json: note === undefined ? { requestHash } : { requestHash, note },
    });
  }

  deny(id: string, reason?: string): Promise<{ request: AccessRequest }> {
    return this.#http.call("POST", `/v1/requests/${segment(id)}/deny`, {
      json: reason === undefined ? {} : { reason },
    });
  }

  cancel(id: string): Promise<{ request: AccessRequest }> {
    return this.#http.call("POST", `/v1/requests/${segment(id)}/cancel`, { json: {} });
  }

  /** Changes a pending request; approvals given to the earlier version stop counting. */
  modifyRequest(
    id: string,
    changes: Pick<RequestInput, "duration" | "justification" | "ticket" | "intent">,
  ): Promise<{ request: AccessRequest }> {
    return this.#http.call("PATCH", `/v1/requests/${segment(id)}`, { json: changes });
  }

  /** Collects the credential of an approved request (once); the grant's clock starts now. */
  collect(id: string): Promise<RequestResult> {
    return this.#http.call("POST", `/v1/requests/${segment(id)}/credential`, { json: {} });
  }

  /** Records the review of a break-glass use (an approver). */
  review(id: string, outcome: "justified" | "unjustified", note?: string): Promise<{ request: AccessRequest }> {
    return this.#http.call("POST", `/v1/requests/${segment(id)}/review`, {
      json: note === undefined ? { outcome } : { outcome, note },
    });
  }

  listGrants(filter: GrantFilter = {}): Promise<GrantPage> {
    const query = new URLSearchParams();
    if (filter.state !== undefined) {
      const states: readonly string[] = typeof filter.state === "string" ? [filter.state] : filter.state;
      if (states.length > 0) query.set("state", states.join(","));
    }
    if (filter.identity !== undefined) query.set("identity", filter.identity);
    if (filter.target !== undefined) query.set("target", filter.target);
    if (filter.after !== undefined) query.set("after", filter.after);
    if (filter.limit !== undefined) query.set("limit", String(filter.limit));
    const qs = query.toString();
    return this.#http.call("GET", `/v1/grants${qs ? `?${qs}` : ""}`);
  }

  getGrant(id: string): Promise<Grant> {
    return this.#http.call("GET", `/v1/grants/${segment(id)}`);
  }

  /** Extends a grant; an `intent` asking for actions outside the granted one is refused (`intent_exceeded`). */
  renew(id: string, duration?: Duration, intent?: RequestInput["intent"]): Promise<RenewResult> {
    return this.#http.call("POST", `/v1/grants/${segment(id)}/renew`, {
      json: { ...(duration === undefined ? {} : { duration }), ...(intent === undefined ? {} : { intent }) },
    });
  }

  /**
   * What the caller may ask for, as policy decides it now for this caller: each permitted entitlement with its maximum
   * duration and whether approvers must agree. Pass what the request will say when policy depends on it.
   */
  async listEntitlements(
    asking: { justification?: string; ticket?: string; task?: string; actions?: readonly string[] } = {},
  ): Promise<readonly EntitlementView[]> {
    const query = new URLSearchParams();
    if (asking.justification !== undefined) query.set("justification", asking.justification);
    if (asking.ticket !== undefined) query.set("ticket", asking.ticket);
    if (asking.task !== undefined) query.set("task", asking.task);
    if (asking.actions !== undefined && asking.actions.length > 0) query.set("actions", asking.actions.join(","));
    const qs = query.toString();
    return (await this.#http.call<{ entitlements: EntitlementView[] }>("GET", `/v1/entitlements${qs ? `?${qs}` : ""}`))
      .entitlements;
  }

  /** Ends a grant because its task is done; resolves once removal was verified (`removed`) or has failed. */
  complete(id: string): Promise<Grant> {
    return this.#http.call("POST", `/v1/grants/${segment(id)}/complete`, { json: {} });
  }

  /** Ends a grant by decision; resolves once removal was verified (`removed`) or has failed. */
  revoke(id: string, reason?: string): Promise<Grant> {
    return this.#http.call("POST", `/v1/grants/${segment(id)}/revoke`, {
      json: reason === undefined ? {} : { reason },
    });
  }

  /** Audit events with `seq > after` (admins only). */
  audit(after?: number, limit?: number): Promise<AuditPage> {
    const query = new URLSearchParams();
    if (after !== undefined) query.set("after", String(after));
    if (limit !== undefined) query.set("limit", String(limit));
    const qs = query.toString();
    return this.#http.call("GET", `/v1/audit${qs ? `?${qs}` : ""}`);
  }

  /** Events with `seq > after` as export records (`jsonl` or `ocsf`), for whom policy allows `export_audit`. */
  auditExport(after: number, limit: number, format: "jsonl" | "ocsf"): Promise<AuditExportPage> {
    const query = new URLSearchParams({ after: String(after), limit: String(limit), format });
    return this.#http.call("GET", `/v1/audit/export?${query.toString()}`);
  }

  /** The audit HMAC of a value, to find it in the log (admins only). */
  async auditHmac(value: string): Promise<string> {
    return (await this.#http.call<{ hmac: string }>("POST", "/v1/audit/hmac", { json: { value } })).hmac;
  }

  /** The public key that signs audit checkpoints. */
  checkpointKey(): Promise<{ keyId: string; alg: string; jwk: Record<string, string>; pin: string }> {
    return this.#http.call("GET", "/v1/audit/checkpoints/key");
  }

  /** Recomputes the audit chain on the broker (admins only). */
  verifyAudit(): Promise<AuditVerification> {
    return this.#http.call("GET", "/v1/audit/verify");
  }

  /** Reconciles every target now and returns the report (admins only). */
  discover(): Promise<DiscoveryReport> {
    return this.#http.call("POST", "/v1/discovery", { json: {} });
  }

  /** The last reconciliation report, without running a new one; 404 before the first (admins only). */
  lastDiscovery(): Promise<DiscoveryReport> {
    return this.#http.call("GET", "/v1/discovery");
  }

  /** The privilege report for grants issued in [from, to) (admins only); the broker defaults `to` to now, `from` to a day before. */
  report(range: { from?: string; to?: string } = {}): Promise<PrivilegeReport> {
    const qs = new URLSearchParams(
      Object.entries(range).filter((e): e is [string, string] => typeof e[1] === "string"),
    ).toString();
    return this.#http.call("GET", `/v1/report${qs ? `?${qs}` : ""}`);
  }

  /** Configured targets with their health and last admin rotation (admins only). */
  async targets(): Promise<readonly TargetSummary[]> {
    return (await this.#http.call<{ targets: TargetSummary[] }>("GET", "/v1/targets")).targets;
  }

  /** Rotates a target's admin secret now (admins only). */
  rotateTarget(target: string): Promise<RotationResult> {
    return this.#http.call("POST", `/v1/targets/${segment(target)}/rotate`, { json: {} });
  }

  /** The identity inventory, a page at a time (admins only). */
  listIdentities(filter: IdentityFilter = {}): Promise<IdentityPage> {
    const query = new URLSearchParams();
    const csv = (v: string | readonly string[]) => (typeof v === "string" ? v : v.join(","));
    if (filter.status !== undefined && csv(filter.status) !== "") query.set("status", csv(filter.status));
    if (filter.kind !== undefined && csv(filter.kind) !== "") query.set("kind", csv(filter.kind));
    if (filter.owner !== undefined) query.set("owner", filter.owner);
    if (filter.unowned !== undefined) query.set("unowned", String(filter.unowned));
    if (filter.after !== undefined) query.set("after", filter.after);
    if (filter.limit !== undefined) query.set("limit", String(filter.limit));
    const qs = query.toString();
    return this.#http.call("GET", `/v1/identities${qs ? `?${qs}` : ""}`);
  }

  getIdentity(id: string): Promise<IdentityView> {
    return this.#http.call("GET", `/v1/identities/${segment(id)}`);
  }

  /** Brings a dormant identity back (admins only); an offboarded one is refused. */
  reactivateIdentity(id: string, reason: string): Promise<IdentityView> {
    return this.#http.call("POST", `/v1/identities/${segment(id)}/reactivate`, { json: { reason } });
  }

  /** Disables an identity for good, ends its grants and cancels its open requests (admins only). */
  offboardIdentity(id: string, reason: string): Promise<OffboardResult> {
    return this.#http.call("POST", `/v1/identities/${segment(id)}/offboard`, { json: { reason } });
  }

  /** RFC 7662: is this broker-issued token still active? */
  introspect(token: string): Promise<Introspection> {
    return this.#http.call("POST", "/v1/introspect", { form: { token } });
  }
}

/** Builds a client from EPHEMERA_URL and EPHEMERA_TOKEN; names the variable that is missing. */
export function fromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: Omit<ClientOptions, "url" | "token"> = {},
): EphemeraClient {
  const url = env.EPHEMERA_URL;
  const token = env.EPHEMERA_TOKEN;
  if (!url) throw new EphemeraConfigError("EPHEMERA_URL is not set: the broker's URL, e.g. http://127.0.0.1:8720");
  if (!token) throw new EphemeraConfigError("EPHEMERA_TOKEN is not set: an API key for the broker");
  normaliseUrl(url, "EPHEMERA_URL");
  if (!/^[\x21-\x7e]+$/.test(token)) throw new EphemeraConfigError("EPHEMERA_TOKEN: must not contain spaces");
  return new EphemeraClient({ ...options, url, token });
}
