// An in-memory Store fake for connector tests: connector state and the audit rule only; grant and request reads are not needed here.
import { GENESIS_HASH, hashEvent } from "../../domain/audit-chain.js";
import type { AuditEvent, Millis } from "../../domain/types.js";
import {
  type ChangeSet,
  ConflictError,
  type HeldLease,
  type LeaseRequest,
  type Store,
  type StoredState,
  type Write,
} from "../../storage/store.js";

function notInFake(method: string): never {
  throw new Error(`MemoryStore.${method} is not implemented: connector tests only use connector state`);
}

/** A JSON round trip, so values behave as they would after a real store (no shared references, JSON only). */
function viaJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export class MemoryStore implements Store {
  readonly #state = new Map<string, Map<string, StoredState>>();
  readonly #audit: AuditEvent[] = [];
  /** Set to make the next `apply` fail, as a store outage would. */
  failNextApply = false;

  /** Every audit event written so far, in order. */
  get auditEvents(): readonly AuditEvent[] {
    return this.#audit;
  }

  async migrate(): Promise<void> {}

  async apply(changes: ChangeSet): Promise<readonly AuditEvent[]> {
    // The real stores refuse a change set with no audit event (DESIGN §6.9); the fake must too, or tests would hide the bug.
    if (changes.audit.length === 0) throw new Error("change set refused: it carries no audit event");
    if (this.failNextApply) {
      this.failNextApply = false;
      throw new Error("store unavailable (injected failure)");
    }
    // Checked before anything is written, so a refused change set leaves nothing behind, as in a real store.
    for (const write of changes.writes) this.#check(write);
    for (const write of changes.writes) {
      if (write.kind === "putState" || write.kind === "claimOnce" || write.kind === "replaceState") {
        const space = this.#state.get(write.namespace) ?? new Map<string, StoredState>();
        space.set(write.key, { key: write.key, value: viaJson(write.value), expiresAt: write.expiresAt });
        this.#state.set(write.namespace, space);
      } else if (write.kind === "deleteState") {
        this.#state.get(write.namespace)?.delete(write.key);
      } else {
        notInFake(`apply(${write.kind})`);
      }
    }
    const events: AuditEvent[] = [];
    for (const draft of changes.audit) {
      const prev = this.#audit.at(-1);
      const body = { ...viaJson(draft), seq: this.#audit.length + 1, id: `evt_${this.#audit.length + 1}` };
      const unhashed = { ...body, prevHash: prev?.hash ?? GENESIS_HASH };
      const event: AuditEvent = { ...unhashed, hash: hashEvent(unhashed) };
      this.#audit.push(event);
      events.push(event);
    }
    return events;
  }

  #check(write: Write): void {
    if (write.kind !== "claimOnce" && write.kind !== "replaceState") return;
    const row = this.#state.get(write.namespace)?.get(write.key);
    if (write.kind === "claimOnce" && row && (row.expiresAt === null || row.expiresAt > write.now)) {
      throw new ConflictError(`state ${write.namespace}/${write.key} is already present and unexpired`);
    }
    if (write.kind === "replaceState") {
      const same =
        write.expected === null
          ? row === undefined
          : row !== undefined && JSON.stringify(row.value) === JSON.stringify(write.expected.value);
      if (!same) throw new ConflictError(`state ${write.namespace}/${write.key} is no longer what the writer read`);
    }
  }

  readonly #leases = new Map<string, HeldLease>();

  async acquireLease(request: LeaseRequest): Promise<HeldLease | null> {
    const held = this.#leases.get(request.name);
    if (held && held.holder !== request.holder && held.expiresAt > request.now) return null;
    const sameHands = held !== undefined && held.holder === request.holder && held.expiresAt > request.now;
    const lease: HeldLease = {
      name: request.name,
      holder: request.holder,
      expiresAt: request.now + request.ttlMs,
      token: held === undefined ? 1 : sameHands ? held.token : held.token + 1,
    };
    this.#leases.set(request.name, lease);
    return lease;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    const held = this.#leases.get(name);
    if (held?.holder === holder) this.#leases.set(name, { ...held, expiresAt: 0 });
  }

  async getState(namespace: string, key: string): Promise<StoredState | null> {
    const row = this.#state.get(namespace)?.get(key);
    return row ? viaJson(row) : null;
  }

  async listState(namespace: string): Promise<readonly StoredState[]> {
    return [...(this.#state.get(namespace)?.values() ?? [])].map(viaJson);
  }

  async purgeExpiredState(now: Millis): Promise<number> {
    let purged = 0;
    for (const space of this.#state.values()) {
      for (const [key, row] of space) {
        if (row.expiresAt !== null && row.expiresAt <= now) {
          space.delete(key);
          purged += 1;
        }
      }
    }
    return purged;
  }

  async listAudit(afterSeq: number, limit: number): Promise<readonly AuditEvent[]> {
    return this.#audit.filter((e) => e.seq > afterSeq).slice(0, limit);
  }

  async auditHead(): Promise<{ seq: number; hash: string }> {
    const last = this.#audit.at(-1);
    return { seq: last?.seq ?? 0, hash: last?.hash ?? GENESIS_HASH };
  }

  readonly writable = true;

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}

  getRequest(): never {
    return notInFake("getRequest");
  }
  getGrant(): never {
    return notInFake("getGrant");
  }
  listGrants(): never {
    return notInFake("listGrants");
  }
  dueGrants(): never {
    return notInFake("dueGrants");
  }
  claimDue(): never {
    return notInFake("claimDue");
  }
  pruneHistory(): never {
    return notInFake("pruneHistory");
  }
  releaseClaims(): never {
    return notInFake("releaseClaims");
  }
  nextDueAt(): never {
    return notInFake("nextDueAt");
  }
  grantsInStates(): never {
    return notInFake("grantsInStates");
  }
  countGrantsByState(): never {
    return notInFake("countGrantsByState");
  }
  countActiveGrants(): never {
    return notInFake("countActiveGrants");
  }
  auditFor(): never {
    return notInFake("auditFor");
  }
  getIdentity(): never {
    return notInFake("getIdentity");
  }
  listIdentities(): never {
    return notInFake("listIdentities");
  }
  markGrantsUsed(): never {
    return notInFake("markGrantsUsed");
  }
  grantReport(): never {
    return notInFake("grantReport");
  }
  markIdentitiesSeen(): never {
    return notInFake("markIdentitiesSeen");
  }
  putApiKey(): never {
    return notInFake("putApiKey");
  }
  findApiKey(): never {
    return notInFake("findApiKey");
  }
  listRequests(): never {
    return notInFake("listRequests");
  }
  dueRequests(): never {
    return notInFake("dueRequests");
  }
  countOverdueReviews(): never {
    return notInFake("countOverdueReviews");
  }
  claimDueNotifications(): never {
    return notInFake("claimDueNotifications");
  }
  settleNotification(): never {
    return notInFake("settleNotification");
  }
  listNotifications(): never {
    return notInFake("listNotifications");
  }
}
