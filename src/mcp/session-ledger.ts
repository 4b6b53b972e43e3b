// What one MCP session holds: its grants, its requests awaiting approval, the sinks of asks in flight, and the sink
// files it has claimed from the server. Bookkeeping only: no broker call, no file written.
import type { SinkSpec } from "./config.js";
import { ToolError } from "./errors.js";
import type { SinkOwners } from "./sink-owners.js";

export interface Held {
  readonly grantId: string;
  readonly requestId: string;
  readonly entitlement: string;
  readonly sink: SinkSpec;
  expiresAt: string | null;
}

export interface Waiting {
  readonly requestId: string;
  readonly entitlement: string;
  readonly sink: SinkSpec;
  readonly reveal: boolean;
}

export class SessionLedger {
  /** Grants by id. */
  readonly held = new Map<string, Held>();
  /** Requests awaiting approval by id. */
  readonly waiting = new Map<string, Waiting>();
  /** Sinks of request_access calls in flight, reserved until the grant is held or the request is waiting. */
  readonly #asking = new Set<string>();
  readonly #owners: SinkOwners;

  constructor(owners: SinkOwners) {
    this.#owners = owners;
  }

  /** Grants, pending requests and requests in flight: what counts against the concurrent-grant caps. */
  get outstanding(): number {
    return this.held.size + this.waiting.size + this.#asking.size;
  }

  /** The grant `grantId` of this session, or `not_in_session`. */
  heldOrRefuse(grantId: string): Held {
    const held = this.held.get(grantId);
    if (!held) {
      throw new ToolError(
        "not_in_session",
        `grant '${grantId}' was not obtained in this session (or has ended); use the grantId request_access returned`,
      );
    }
    return held;
  }

  /**
   * Reserves `sink` for an ask, or throws `sink_busy` when this session or another uses it. Synchronous, so no
   * concurrent call in any session can pass between the check and the claim.
   */
  reserve(entitlement: string, sink: SinkSpec): void {
    const busy = [...this.held.values(), ...this.waiting.values()].find((h) => h.sink.path === sink.path);
    if (busy || this.#asking.has(sink.path)) {
      const which = busy ? ` (${"grantId" in busy ? busy.grantId : busy.requestId})` : "";
      throw new ToolError(
        "sink_busy",
        `${entitlement} is already held or being asked for in this session${which}; renew_access or complete_access it instead`,
      );
    }
    if (!this.#owners.claim(sink.path, this)) {
      throw new ToolError(
        "sink_busy",
        `${entitlement}'s sink ${sink.path} is in use by another session of this server; retry once that session has completed its grant`,
      );
    }
    this.#asking.add(sink.path);
  }

  /** The ask for `path` is over: its grant is held, its request waiting, or it failed. */
  asked(path: string): void {
    this.#asking.delete(path);
    this.release(path);
  }

  /**
   * Lets other sessions have a sink once nothing of this one uses it any more: after its grant completed (and its file
   * was removed) or its request ended without a grant.
   */
  release(path: string): void {
    if (this.#asking.has(path)) return;
    for (const entry of [...this.held.values(), ...this.waiting.values()]) if (entry.sink.path === path) return;
    this.#owners.release(path, this);
  }
}
