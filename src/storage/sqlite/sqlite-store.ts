// The embedded Store: one SQLite file in WAL mode with durable commits. Its writes (group commit and the fsync behind
// every batch) run on a thread of their own, so the main thread keeps serving requests while a batch syncs; reads
// run on the main thread's own connection, which WAL lets read beside the writer without waiting for it.
import type { AccessRequest, AuditEvent, Grant, GrantState, IdentityRecord, Millis } from "../../domain/index.js";
import { admitChangeSet, WriteHealth } from "../port-rules.js";
import {
  type ApiKeyRecord,
  type ChangeSet,
  type ClaimRequest,
  type GrantFilter,
  type GrantReport,
  type GrantUsage,
  type HeldLease,
  type IdentityFilter,
  type IdentitySighting,
  type LeaseRequest,
  type NotificationRecord,
  type ReportRange,
  type RequestFilter,
  type Store,
  type StoredState,
  StoreUnavailableError,
} from "../store.js";
import type { ConnectionSettings } from "./connection.js";
import { LocalSqliteStore, type SqliteStoreStats } from "./local-store.js";
import type { WriterOp } from "./thread-messages.js";
import { writerScript } from "./writer-script.js";
import { WriterThread } from "./writer-thread.js";

export type { SqliteStoreStats } from "./local-store.js";

export interface SqliteStoreOptions {
  /** A file path (its directory is created if missing), or ":memory:" for a throwaway database. */
  readonly path: string;
  /** Most change sets committed in one transaction. Default 512. */
  readonly maxBatch?: number;
  /** How long to wait for another process's write lock before giving up, in ms. Default 5000. */
  readonly busyTimeoutMs?: number;
  /**
   * Where writes run. "thread" (the default for a file): a worker thread that owns the write connection, so a batch's
   * fsync never stalls the caller's thread. "inline": the caller's thread, one connection for everything. A database
   * in memory is always inline: only its one connection can see it, and there is no fsync to move away.
   */
  readonly writer?: "thread" | "inline";
}

const inMemory = (path: string) => path === ":memory:" || path === "";

type Writes = Pick<LocalSqliteStore, WriterOp>;

export class SqliteStore implements Store {
  /** Set when writes run on this thread: then it is the whole store. */
  readonly #inline: LocalSqliteStore | null;
  readonly #thread: Promise<WriterThread> | null;
  #writer: WriterThread | null = null;
  /** This thread's connection, once the writer has made the database: every read. */
  #reader: LocalSqliteStore | null = null;
  #settings: ConnectionSettings | null = null;
  #closed = false;
  readonly #health = new WriteHealth();
  readonly #options: SqliteStoreOptions;

  constructor(options: SqliteStoreOptions) {
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new RangeError("busyTimeoutMs must be an integer");
    const maxBatch = options.maxBatch ?? 512;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError("maxBatch must be a positive integer");
    this.#options = options;
    if (options.writer === "inline" || inMemory(options.path)) {
      this.#inline = new LocalSqliteStore(options);
      this.#reader = this.#inline;
      this.#thread = null;
      return;
    }
    this.#inline = null;
    this.#thread = this.#start({ path: options.path, maxBatch, busyTimeoutMs });
    // Failures reach callers through their calls; this only keeps an unobserved one from being reported as unhandled.
    this.#thread.catch(() => {});
  }

  async #start(options: { path: string; maxBatch: number; busyTimeoutMs: number }): Promise<WriterThread> {
    const thread = new WriterThread(await writerScript(), options);
    try {
      this.#settings = await thread.ready;
    } catch (error) {
      await thread.terminate();
      throw error;
    }
    this.#writer = thread;
    return thread;
  }

  /** Counters for tests and metrics, as of the writer's last answer. */
  get stats(): SqliteStoreStats {
    if (this.#inline) return this.#inline.stats;
    return this.#writer?.stats ?? { commits: 0, changeSets: 0, failedChangeSets: 0, largestBatch: 0 };
  }

  /** The write connection's settings as SQLite reports them, for diagnostics. */
  settings(): ConnectionSettings {
    if (this.#inline) return this.#inline.settings();
    if (this.#settings === null) throw new StoreUnavailableError("the store is not open yet");
    return this.#settings;
  }

  get writable(): boolean {
    if (this.#inline) return this.#inline.writable;
    return this.#health.writable && (this.#writer?.running ?? true);
  }

  async migrate(): Promise<void> {
    await this.#write("migrate", []);
    this.#reader?.schemaChanged();
  }

  apply(changes: ChangeSet): Promise<readonly AuditEvent[]> {
    if (this.#inline) return this.#inline.apply(changes);
    return admitChangeSet(
      this.#closed,
      changes,
      (admitted) => this.#write("apply", [admitted]) as Promise<readonly AuditEvent[]>,
      this.#health,
    );
  }

  async getRequest(id: string): Promise<AccessRequest | null> {
    return (this.#reader ?? (await this.#read())).getRequest(id);
  }

  async listRequests(filter: RequestFilter): Promise<readonly AccessRequest[]> {
    return (this.#reader ?? (await this.#read())).listRequests(filter);
  }

  async dueRequests(now: Millis, limit: number): Promise<readonly AccessRequest[]> {
    return (this.#reader ?? (await this.#read())).dueRequests(now, limit);
  }

  async countOverdueReviews(now: Millis): Promise<number> {
    return (this.#reader ?? (await this.#read())).countOverdueReviews(now);
  }

  claimDueNotifications(request: ClaimRequest): Promise<readonly NotificationRecord[]> {
    return this.#write("claimDueNotifications", [request]) as Promise<readonly NotificationRecord[]>;
  }

  async settleNotification(notification: NotificationRecord): Promise<void> {
    await this.#write("settleNotification", [notification]);
  }

  async listNotifications(filter: {
    readonly states?: readonly NotificationRecord["state"][];
    readonly after?: string;
    readonly limit: number;
  }): Promise<readonly NotificationRecord[]> {
    return (this.#reader ?? (await this.#read())).listNotifications(filter);
  }

  async getGrant(id: string): Promise<Grant | null> {
    return (this.#reader ?? (await this.#read())).getGrant(id);
  }

  async listGrants(filter: GrantFilter): Promise<readonly Grant[]> {
    return (this.#reader ?? (await this.#read())).listGrants(filter);
  }

  async dueGrants(now: Millis, limit: number): Promise<readonly Grant[]> {
    return (this.#reader ?? (await this.#read())).dueGrants(now, limit);
  }

  claimDue(request: ClaimRequest): Promise<readonly Grant[]> {
    return this.#write("claimDue", [request]) as Promise<readonly Grant[]>;
  }

  pruneHistory(request: { endedBefore: Millis; limit: number }): Promise<{ grants: number; requests: number }> {
    return this.#write("pruneHistory", [request]) as Promise<{ grants: number; requests: number }>;
  }

  releaseClaims(): Promise<number> {
    return this.#write("releaseClaims", []) as Promise<number>;
  }

  async nextDueAt(): Promise<Millis | null> {
    return (this.#reader ?? (await this.#read())).nextDueAt();
  }

  async grantsInStates(states: readonly GrantState[], limit: number): Promise<readonly Grant[]> {
    return (this.#reader ?? (await this.#read())).grantsInStates(states, limit);
  }

  async countGrantsByState(): Promise<ReadonlyMap<GrantState, number>> {
    return (this.#reader ?? (await this.#read())).countGrantsByState();
  }

  async countActiveGrants(): Promise<readonly { targetId: string; entitlement: string; count: number }[]> {
    return (this.#reader ?? (await this.#read())).countActiveGrants();
  }

  async listAudit(afterSeq: number, limit: number): Promise<readonly AuditEvent[]> {
    return (this.#reader ?? (await this.#read())).listAudit(afterSeq, limit);
  }

  async auditFor(subject: { grantId?: string; requestId?: string }, limit: number): Promise<readonly AuditEvent[]> {
    return (this.#reader ?? (await this.#read())).auditFor(subject, limit);
  }

  async auditHead(): Promise<{ seq: number; hash: string }> {
    return (this.#reader ?? (await this.#read())).auditHead();
  }

  async getIdentity(id: string): Promise<IdentityRecord | null> {
    return (this.#reader ?? (await this.#read())).getIdentity(id);
  }

  async listIdentities(filter: IdentityFilter): Promise<readonly IdentityRecord[]> {
    return (this.#reader ?? (await this.#read())).listIdentities(filter);
  }

  async markIdentitiesSeen(sightings: readonly IdentitySighting[]): Promise<void> {
    if (sightings.length === 0) return;
    await this.#write("markIdentitiesSeen", [sightings]);
  }

  async markGrantsUsed(usage: readonly GrantUsage[]): Promise<void> {
    if (usage.length === 0) return;
    await this.#write("markGrantsUsed", [usage]);
  }

  async grantReport(range: ReportRange): Promise<GrantReport> {
    return (this.#reader ?? (await this.#read())).grantReport(range);
  }

  async putApiKey(record: ApiKeyRecord): Promise<void> {
    await this.#write("putApiKey", [record]);
  }

  async findApiKey(keyId: string): Promise<ApiKeyRecord | null> {
    return (this.#reader ?? (await this.#read())).findApiKey(keyId);
  }

  /** Returns the entry even past its expiry until it is purged: the store reads no clock, so callers compare `expiresAt`. */
  async getState(namespace: string, key: string): Promise<StoredState | null> {
    return (this.#reader ?? (await this.#read())).getState(namespace, key);
  }

  async listState(namespace: string): Promise<readonly StoredState[]> {
    return (this.#reader ?? (await this.#read())).listState(namespace);
  }

  purgeExpiredState(now: Millis): Promise<number> {
    return this.#write("purgeExpiredState", [now]) as Promise<number>;
  }

  acquireLease(request: LeaseRequest): Promise<HeldLease | null> {
    return this.#write("acquireLease", [request]) as Promise<HeldLease | null>;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.#write("releaseLease", [name, holder]);
  }

  /** True when both connections answer and the writer thread runs. */
  async ping(): Promise<boolean> {
    if (this.#inline) return this.#inline.ping();
    if (this.#closed || this.#writer === null || !this.#writer.running) return false;
    try {
      return await (this.#reader ?? (await this.#read())).ping();
    } catch {
      return false;
    }
  }

  /** Commits whatever is queued, then closes; later calls fail with StoreUnavailableError. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#inline) {
      await this.#inline.close();
      return;
    }
    const writer = await this.#thread?.catch(() => null);
    if (writer) {
      // Sent after every call made before it, so the writer commits those first.
      await writer.call("close", []).catch(() => {});
      await writer.terminate();
    }
    await this.#reader?.close();
  }

  /** The write `op`, on this thread or the writer's. */
  #write(op: WriterOp, args: readonly unknown[]): Promise<unknown> {
    if (this.#inline) {
      const method = (this.#inline as Writes)[op] as (...a: readonly unknown[]) => Promise<unknown>;
      return method.apply(this.#inline, [...args]);
    }
    if (this.#closed && op !== "close") return Promise.reject(new StoreUnavailableError("the store is closed"));
    if (this.#writer !== null) return this.#writer.call(op, args);
    return (this.#thread as Promise<WriterThread>).then((writer) => writer.call(op, args));
  }

  /** The connection reads use: this thread's, opened once the writer has created the database. */
  async #read(): Promise<LocalSqliteStore> {
    if (this.#inline) return this.#inline;
    if (this.#closed) throw new StoreUnavailableError("the store is closed");
    await this.#thread;
    this.#reader ??= new LocalSqliteStore({
      path: this.#options.path,
      busyTimeoutMs: this.#options.busyTimeoutMs ?? 5000,
      queryOnly: true,
    });
    return this.#reader;
  }
}

/** Opens the database at `path` (creating it and its directory if needed) and brings its schema up to date. */
export async function openSqliteStore(
  path: string,
  options: Omit<SqliteStoreOptions, "path"> = {},
): Promise<SqliteStore> {
  const store = new SqliteStore({ ...options, path });
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
