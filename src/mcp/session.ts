// One MCP session's access: what it asked for, the grants it holds and where their credentials are. Every grant it
// obtained is completed (removal verified by the broker) when the session ends; caps bound what one session may hold
// and how fast it may ask.
import {
  completeGrant,
  type EntitlementView,
  type EphemeraClient,
  isPending,
  isReplay,
  type RequestInput,
  type RequestResult,
  type RequestView,
} from "../client/index.js";
import { AskBudget, spendAll } from "./ask-budget.js";
import type { BrokerAccess, ClientInfo, TokenPurpose } from "./broker-auth.js";
import type { McpConfig, SinkSpec } from "./config.js";
import { SinkWriter } from "./deliver.js";
import { ToolError } from "./errors.js";
import {
  type Delivered,
  presentActive,
  presentGrantStatus,
  presentPending,
  presentReceipt,
  presentRenewed,
  type ToolAnswer,
} from "./present.js";
import type { ServerLimits } from "./server-limits.js";
import { type Held, SessionLedger, type Waiting } from "./session-ledger.js";
import type { SinkOwners } from "./sink-owners.js";

/** Who is calling, for the broker's policy and audit: the MCP client and the tool call. */
export interface CallContext {
  readonly client: ClientInfo | null;
  readonly toolCallId: string;
}

export interface AccessAsk {
  readonly entitlement: string;
  readonly duration?: string | number | undefined;
  readonly intent?: RequestInput["intent"] | undefined;
  readonly justification?: string | undefined;
  readonly ticket?: string | undefined;
}

export interface CloseReport {
  readonly completed: number;
  readonly verified: number;
  readonly failed: readonly { readonly grantId: string; readonly error: string }[];
  readonly cancelled: number;
}

/** What every session of one server shares: the caps over all sessions, and who owns each sink file. */
export interface SharedBySessions {
  readonly limits: ServerLimits;
  readonly sinks: SinkOwners;
}

export type Log = (level: "info" | "warn" | "error", message: string, data?: Record<string, unknown>) => void;

const POLL_MS = 250;

export class AccessSession {
  readonly #config: McpConfig;
  readonly #broker: BrokerAccess;
  readonly #log: Log;
  readonly #server: ServerLimits;
  readonly #ledger: SessionLedger;
  /** request_access and renew_access calls in the last minute. */
  readonly #budget: AskBudget;
  readonly #sinks: SinkWriter;
  #closing: Promise<CloseReport> | null = null;

  constructor(config: McpConfig, broker: BrokerAccess, log: Log, shared: SharedBySessions) {
    this.#config = config;
    this.#broker = broker;
    this.#log = log;
    this.#server = shared.limits;
    this.#ledger = new SessionLedger(shared.sinks);
    this.#sinks = new SinkWriter(config);
    this.#budget = new AskBudget(config.limits.requestsPerMinute);
    shared.limits.join(this);
  }

  /** Grants, pending requests and requests in flight: what counts against the concurrent-grant caps. */
  get outstanding(): number {
    return this.#ledger.outstanding;
  }

  async listEntitlements(
    asking: { task?: string; actions?: readonly string[]; justification?: string },
    call: CallContext,
  ): Promise<readonly (EntitlementView & { reveal: boolean; sink: string })[]> {
    const client = await this.#client(call);
    const permitted = await client.listEntitlements(asking);
    return permitted
      .filter((e) => !this.#config.onlyListed || e.name in this.#config.entitlements)
      .map((e) => ({ ...e, reveal: this.#reveals(e.name), sink: this.#sinks.sinkOf(e.name).path }));
  }

  async requestAccess(ask: AccessAsk, call: CallContext): Promise<ToolAnswer> {
    this.#open();
    if (this.#config.onlyListed && !(ask.entitlement in this.#config.entitlements)) {
      throw new ToolError(
        "not_offered",
        `'${ask.entitlement}' is not offered by this server; call list_entitlements for what you may ask for`,
      );
    }
    if (this.outstanding >= this.#config.limits.concurrentGrants) {
      throw new ToolError(
        "too_many_grants",
        `this session already holds ${this.#config.limits.concurrentGrants} grants or requests (limits.concurrentGrants); complete_access one you no longer need`,
        { held: [...this.#ledger.held.keys()] },
      );
    }
    this.#server.checkOutstanding();
    const sink = this.#sinks.sinkOf(ask.entitlement);
    // Reserved before the first await, so no concurrent call in any session can pass the checks above.
    this.#ledger.reserve(ask.entitlement, sink);
    try {
      spendAll([this.#budget, this.#server.asks]);
      return await this.#ask(ask, call, sink);
    } finally {
      this.#ledger.asked(sink.path);
    }
  }

  async #ask(ask: AccessAsk, call: CallContext, sink: SinkSpec): Promise<ToolAnswer> {
    const reveal = this.#reveals(ask.entitlement);
    const client = await this.#client(call, "request");
    const answer = await client.request(
      {
        entitlement: ask.entitlement,
        ...(ask.duration === undefined ? {} : { duration: ask.duration }),
        ...(ask.intent === undefined ? {} : { intent: ask.intent }),
        ...(ask.justification === undefined ? {} : { justification: ask.justification }),
        ...(ask.ticket === undefined ? {} : { ticket: ask.ticket }),
      },
      { toolCallId: call.toolCallId, ...(reveal ? { reveal: true } : {}) },
    );
    if (isReplay(answer)) throw new ToolError("internal_error", "the broker answered a replay to a fresh request");
    if (!isPending(answer)) return this.#take(client, answer, sink, reveal);

    const waiting: Waiting = { requestId: answer.request.id, entitlement: ask.entitlement, sink, reveal };
    if (this.#closing) {
      await client.cancel(waiting.requestId).catch(() => undefined);
      throw new ToolError("session_closing", "this session ended while the request was made; it was cancelled");
    }
    this.#ledger.waiting.set(waiting.requestId, waiting);
    this.#log("info", "request pending approval", { requestId: waiting.requestId, entitlement: ask.entitlement });
    const settled = await this.#waitForApproval(client, waiting.requestId);
    if (settled.request.state === "approved") return this.#collect(waiting, call);
    if (settled.request.state !== "pending") this.#ledger.waiting.delete(waiting.requestId);
    return presentPending(settled, this.#config.waitMs);
  }

  async status(id: string, call: CallContext): Promise<ToolAnswer> {
    const client = await this.#client(call);
    if (id.startsWith("req_")) {
      const view = await client.getRequest(id);
      const waiting = this.#ledger.waiting.get(id);
      if (waiting && view.request.state === "approved" && !this.#closing) return this.#collect(waiting, call);
      if (waiting && view.request.state !== "pending" && view.request.state !== "approved") {
        this.#ledger.waiting.delete(id);
        this.#ledger.release(waiting.sink.path);
      }
      if (view.grant) return presentGrantStatus(view.grant, this.#ledger.held.get(view.grant.id) ?? null, view.request);
      return presentPending(view, null);
    }
    const grant = await client.getGrant(id);
    return presentGrantStatus(grant, this.#ledger.held.get(id) ?? null, null);
  }

  async complete(grantId: string, call: CallContext): Promise<ToolAnswer> {
    const held = this.#ledger.heldOrRefuse(grantId);
    const client = await this.#client(call);
    const ended = (await completeGrant(client, grantId)) ?? (await client.getGrant(grantId));
    this.#ledger.held.delete(grantId);
    await this.#removeSink(held);
    this.#ledger.release(held.sink.path);
    this.#log("info", "grant completed", { grantId, removed: ended.removed });
    return presentReceipt(ended);
  }

  async renew(
    grantId: string,
    ask: { duration?: string | number | undefined; intent?: RequestInput["intent"] | undefined },
    call: CallContext,
  ): Promise<ToolAnswer> {
    this.#open();
    const held = this.#ledger.heldOrRefuse(grantId);
    spendAll([this.#budget, this.#server.asks]);
    const client = await this.#client(call);
    const renewed = await client.renew(grantId, ask.duration, ask.intent);
    held.expiresAt = renewed.grant.expiresAt;
    // Token targets issue a fresh credential on renewal: the sink follows, so the agent's tools keep working.
    if (renewed.credential) await this.#sinks.write(held.sink, renewed.grant, renewed.credential);
    return presentRenewed(renewed, held.sink.path);
  }

  /**
   * Ends the session: pending requests are cancelled and every grant completed, in parallel, within the shutdown
   * timeout. Safe to call more than once (later calls get the first call's report).
   */
  close(): Promise<CloseReport> {
    this.#closing ??= this.#endAll().finally(() => this.#server.leave(this));
    return this.#closing;
  }

  async #endAll(): Promise<CloseReport> {
    const held = [...this.#ledger.held.values()];
    const waiting = [...this.#ledger.waiting.values()];
    if (held.length === 0 && waiting.length === 0) return { completed: 0, verified: 0, failed: [], cancelled: 0 };
    const failed: { grantId: string; error: string }[] = [];
    let verified = 0;
    let cancelled = 0;
    const work = (async () => {
      const client = await this.#client({ client: null, toolCallId: "session-end" });
      await Promise.all([
        ...waiting.map(async (w) => {
          try {
            await client.cancel(w.requestId);
            cancelled++;
          } catch {
            // Approved meanwhile, or already final: an uncollected request never becomes a grant on its own.
          }
          this.#ledger.waiting.delete(w.requestId);
          this.#ledger.release(w.sink.path);
        }),
        ...held.map(async (h) => {
          try {
            const ended = await completeGrant(client, h.grantId);
            if (ended === null || ended.removed) verified++;
            else failed.push({ grantId: h.grantId, error: `removal not verified yet (${ended.state})` });
          } catch (error) {
            failed.push({ grantId: h.grantId, error: error instanceof Error ? error.message : "failed" });
          }
          this.#ledger.held.delete(h.grantId);
          await this.#removeSink(h);
          this.#ledger.release(h.sink.path);
        }),
      ]);
    })();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      work.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), this.#config.shutdownTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      for (const h of this.#ledger.held.values()) failed.push({ grantId: h.grantId, error: "not completed in time" });
    }
    const report = { completed: held.length, verified, failed, cancelled };
    this.#log(failed.length === 0 ? "info" : "warn", "session ended", { ...report });
    return report;
  }

  async #take(client: EphemeraClient, issued: RequestResult, sink: SinkSpec, reveal: boolean): Promise<ToolAnswer> {
    if (this.#closing) {
      // The session ended while this grant was being issued: it must not outlive the session either.
      await completeGrant(client, issued.grant.id).catch(() => null);
      throw new ToolError("session_closing", "this session ended while access was being granted; the grant was ended");
    }
    const held: Held = {
      grantId: issued.grant.id,
      requestId: issued.request.id,
      entitlement: issued.grant.entitlement,
      sink,
      expiresAt: issued.grant.expiresAt,
    };
    this.#ledger.held.set(held.grantId, held);
    let delivered: Delivered;
    try {
      delivered = await this.#sinks.write(sink, issued.grant, issued.credential);
    } catch (error) {
      // A credential the agent's tools cannot read is of no use: end it now rather than let it run its course.
      this.#ledger.held.delete(held.grantId);
      await completeGrant(client, held.grantId).catch(() => null);
      throw new ToolError(
        "sink_failed",
        `the credential could not be written to ${sink.path} (${error instanceof Error ? error.message : "error"}); the grant was ended`,
      );
    }
    this.#log("info", "grant delivered", { grantId: held.grantId, entitlement: held.entitlement, sink: sink.path });
    return presentActive(issued, delivered, reveal);
  }

  async #collect(waiting: Waiting, call: CallContext): Promise<ToolAnswer> {
    this.#ledger.waiting.delete(waiting.requestId);
    try {
      // Collecting obtains a credential, as the request did: a single-use workload token must be a fresh one.
      const client = await this.#client(call, "request");
      const issued = await client.collect(waiting.requestId);
      return await this.#take(client, issued, waiting.sink, waiting.reveal);
    } finally {
      this.#ledger.release(waiting.sink.path);
    }
  }

  async #waitForApproval(client: EphemeraClient, requestId: string): Promise<RequestView> {
    const deadline = Date.now() + this.#config.waitMs;
    for (;;) {
      const view = await client.getRequest(requestId);
      if (view.request.state !== "pending" || Date.now() + POLL_MS > deadline || this.#closing) return view;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  async #removeSink(held: Held): Promise<void> {
    try {
      await this.#sinks.remove(held.sink);
    } catch (error) {
      this.#log("warn", "could not remove a sink file", {
        path: held.sink.path,
        error: (error as NodeJS.ErrnoException).code ?? "error",
      });
    }
  }

  #open(): void {
    if (this.#closing) throw new ToolError("session_closing", "this session is ending; its grants are being completed");
  }

  #reveals(entitlement: string): boolean {
    return this.#config.entitlements[entitlement]?.reveal === true;
  }

  #client(call: CallContext, purpose: TokenPurpose = "call"): Promise<EphemeraClient> {
    return this.#broker.client(call.client, purpose);
  }
}
