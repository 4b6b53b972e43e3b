// Signs a checkpoint every N events or T seconds, on one replica at a time, after verifying the chain since the
// previous one; writes it to an append-only directory and, through the notification outbox, to a webhook.
import {
  chmodSync,
  closeSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { AuditEvent, Millis } from "../domain/index.js";
import { GENESIS_HASH } from "../domain/index.js";
import {
  type AuditLog,
  ConflictError,
  type Leases,
  StateNamespace,
  type StatePort,
  type Write,
} from "../storage/index.js";
import type { Clock, Logger } from "../support/index.js";
import { describeError, holdsLease, newId, Periodic, randomToken } from "../support/index.js";
import type { CheckpointKey } from "./audit-keys.js";
import {
  type CheckpointBody,
  checkpointDigest,
  checkpointFileName,
  checkpointSignatureValid,
  parseCheckpoint,
  type SignedCheckpoint,
  signCheckpoint,
} from "./checkpoint.js";
import { leafHash, merkleRootOfLeaves } from "./merkle.js";
import { systemEvent } from "./system-event.js";
import { verifyChain } from "./verify.js";

/** Where the last checkpoint is kept, so every replica continues from it (compare-and-set: one writer per range). */
export const CHECKPOINT_NAMESPACE = "audit.checkpoints";
const checkpoints = new StateNamespace<SignedCheckpoint>(CHECKPOINT_NAMESPACE);
const LAST = "last";
const LEASE = "audit.checkpoints";
/**
 * Events read and verified per step. Between steps the pass yields to the event loop: at a thousand credentials a
 * second a pass covers thousands of events, and verifying them in one synchronous stretch (the SQLite store reads
 * without waiting) held every request behind it for tens of milliseconds once a second, the whole p99 tail.
 */
const PAGE = 256;

/** Events the audit machinery writes about itself; alone, they neither make a checkpoint due nor start a batch. */
export const BOOKKEEPING_CODES: ReadonlySet<string> = new Set(["audit.checkpoint_written", "audit.streamed"]);
const BOOKKEEPING_WINDOW = 8;

export interface CheckpointerOptions {
  readonly store: StatePort & AuditLog & Leases;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly key: CheckpointKey;
  readonly every: number;
  readonly intervalMs: number;
  /** Directory of checkpoint files; null for none. */
  readonly sinkDir: string | null;
  /** A notifications webhook name that receives each checkpoint through the outbox; null for none. */
  readonly webhook: string | null;
  /** Set on a shared store: only the lease holder checkpoints. */
  readonly replicaId?: string;
  /** How checkpoint files are written (tests simulate a full disk). */
  readonly fileIo?: CheckpointFileIo;
  /** How often to look whether a checkpoint is due (default: a second, or the interval when shorter). */
  readonly tickMs?: number;
}

export class Checkpointer {
  readonly #task: Periodic<SignedCheckpoint | null>;
  /** Set while a sink or the chain fails, so the alarm is audited once per outage, not once per pass. */
  #failing: string | null = null;
  /** Before the first checkpoint, the interval runs from the start of this process. */
  readonly #startedAt: Millis;

  constructor(private readonly options: CheckpointerOptions) {
    this.#startedAt = options.clock.now();
    this.#task = new Periodic(
      () => this.#pass(false),
      (error) => options.logger.error({ err: describeError(error) }, "audit checkpoint pass failed"),
    );
  }

  get tickMs(): number {
    return this.options.tickMs ?? Math.min(1000, this.options.intervalMs);
  }

  start(): void {
    this.#task.start(this.tickMs);
  }

  stop(): Promise<void> {
    return this.#task.stop();
  }

  /** Signs a checkpoint now when one is due (`force`: whenever there is an event it does not cover); returns it. */
  runOnce(force = false): Promise<SignedCheckpoint | null> {
    return force ? this.#pass(true) : this.#task.runOnce();
  }

  /** The last checkpoint written (by any replica), or null before the first. */
  async last(): Promise<SignedCheckpoint | null> {
    const stored = await checkpoints.in(this.options.store).get(LAST);
    return stored ? parseCheckpoint(stored.value, `${CHECKPOINT_NAMESPACE}/${LAST}`) : null;
  }

  async #pass(force: boolean): Promise<SignedCheckpoint | null> {
    const { store, clock } = this.options;
    if (!(await holdsLease({ store, clock }, LEASE, this.options.replicaId, this.tickMs))) return null;
    const stored = await checkpoints.in(store).get(LAST);
    const last = stored ? parseCheckpoint(stored.value, `${CHECKPOINT_NAMESPACE}/${LAST}`) : null;
    if (last && !checkpointSignatureValid(last, this.options.key.publicJwk)) {
      // Whoever can write the store could otherwise have this broker sign on top of a history it rewrote.
      await this.#alarm(
        "audit.checkpoint_refused",
        clock.now(),
        "the last checkpoint in the store is not signed by this broker's key",
        {
          problem: "bad_signature",
          seq: last.seq,
        },
      );
      return null;
    }
    const head = await store.auditHead();
    const fromSeq = (last?.seq ?? 0) + 1;
    if (head.seq < fromSeq) return null;
    const now = clock.now();
    const due =
      force ||
      head.seq - fromSeq + 1 >= this.options.every ||
      now - (last ? Date.parse(last.time) : this.#startedAt) >= this.options.intervalMs;
    if (!due) return null;

    // Only the audit's own records are new (the last checkpoint's, the stream's): nothing to sign, or an idle broker
    // would checkpoint, and stream, its own bookkeeping forever.
    if (!force && head.seq - fromSeq < BOOKKEEPING_WINDOW) {
      const fresh = await store.listAudit(fromSeq - 1, BOOKKEEPING_WINDOW);
      if (fresh.every((e) => BOOKKEEPING_CODES.has(e.code))) return null;
    }
    // Verified as read, keeping only the leaf hashes: the first checkpoint of a large log must not hold every event.
    const leaves: Buffer[] = [];
    const verified = await verifyChain(readRange(store, fromSeq, head.seq, leaves), {
      from: last ? { seq: last.seq, hash: last.headHash } : { seq: 0, hash: GENESIS_HASH },
      expectedHead: head,
    });
    if (!verified.ok) {
      await this.#alarm("audit.checkpoint_refused", now, `${verified.problem} at seq ${verified.firstBadSeq}`, {
        firstBadSeq: verified.firstBadSeq,
        problem: verified.problem,
        detail: verified.detail,
      });
      return null;
    }

    const body: CheckpointBody = {
      version: 1,
      seq: head.seq,
      headHash: head.hash,
      fromSeq,
      merkleRoot: merkleRootOfLeaves(leaves),
      prevCheckpoint: last ? checkpointDigest(last) : null,
      time: new Date(now).toISOString(),
      keyId: this.options.key.keyId,
    };
    const checkpoint = signCheckpoint(body, this.options.key.privateKey);
    let file: string | null = null;
    if (this.options.sinkDir !== null) {
      try {
        file = writeCheckpointFile(this.options.sinkDir, checkpoint, this.options.fileIo);
        // The same seq already written: another replica (or a process before a crash) won this range.
        if (file === null) return null;
      } catch (error) {
        await this.#alarm("audit.sink_failed", now, describeError(error), {
          sink: "file",
          seq: checkpoint.seq,
          error: describeError(error),
        });
        return null;
      }
    }
    const writes: Write[] = [checkpoints.replace(LAST, checkpoint, stored ? stored.value : null)];
    if (this.options.webhook !== null) writes.push(webhookWrite(this.options.webhook, checkpoint, now));
    try {
      await store.apply({
        writes,
        audit: [
          systemEvent("audit.checkpoint_written", now, "audit", {
            seq: checkpoint.seq,
            fromSeq: checkpoint.fromSeq,
            headHash: checkpoint.headHash,
            merkleRoot: checkpoint.merkleRoot,
            keyId: checkpoint.keyId,
            sinks: [...(file ? ["file"] : []), ...(this.options.webhook ? ["webhook"] : [])],
          }),
        ],
      });
    } catch (error) {
      if (error instanceof ConflictError) return null;
      throw error;
    }
    this.#failing = null;
    return checkpoint;
  }

  async #alarm(
    code: "audit.sink_failed" | "audit.checkpoint_refused",
    now: Millis,
    why: string,
    data: Record<string, unknown>,
  ) {
    this.options.logger.error({ code, why }, "audit checkpoint not written");
    const key = `${code}:${String(data.sink ?? data.firstBadSeq)}`;
    if (this.#failing === key) return;
    this.#failing = key;
    await this.options.store.apply({ writes: [], audit: [systemEvent(code, now, "audit", data)] });
  }
}

async function* readRange(
  store: AuditLog,
  fromSeq: number,
  toSeq: number,
  leaves: Buffer[],
): AsyncGenerator<AuditEvent> {
  let after = fromSeq - 1;
  while (after < toSeq) {
    const page = await store.listAudit(after, Math.min(PAGE, toSeq - after));
    if (page.length === 0) return;
    for (const e of page) {
      if (e.seq > toSeq) return;
      leaves.push(leafHash(e.hash));
      yield e;
    }
    after = page[page.length - 1]!.seq;
    // The page just yielded has been verified by now: let waiting requests run before the next one.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The file operations a checkpoint write uses; tests put a full disk behind them. */
export interface CheckpointFileIo {
  readonly write: (fd: number, text: string) => void;
}

const NODE_IO: CheckpointFileIo = {
  write: (fd, text) => {
    const buffer = Buffer.from(text, "utf8");
    for (let offset = 0; offset < buffer.length; ) offset += writeSync(fd, buffer, offset);
  },
};

/** Temporary files of a write that a crash interrupted are removed once they are this old. */
const STALE_TEMP_MS = 60_000;

/**
 * Written whole or not at all: to a temporary name, flushed, then linked to its final name (`link` refuses an existing
 * name, so a checkpoint file is never overwritten), and the directory flushed. A full disk leaves no empty or
 * truncated checkpoint for the offline verifier to trip over; the checkpointer tries again on a later pass. Returns
 * null when a checkpoint of that seq is already there.
 */
export function writeCheckpointFile(
  dir: string,
  checkpoint: SignedCheckpoint,
  io: CheckpointFileIo = NODE_IO,
): string | null {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const name = checkpointFileName(checkpoint.seq);
  const file = join(dir, name);
  if (alreadyWritten(file, checkpoint)) return null;
  removeStaleTemps(dir);
  const temp = join(dir, `.${name}.${process.pid}.${randomToken(6)}.tmp`);
  try {
    const fd = openSync(temp, "wx", 0o600);
    try {
      io.write(fd, `${JSON.stringify(checkpoint, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(temp, 0o444);
    try {
      linkSync(temp, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST" && alreadyWritten(file, checkpoint)) return null;
      throw error;
    }
    syncDirectory(dir);
    return file;
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * Whether `file` already holds this range's checkpoint (another replica, or this process before a crash, won it).
 * Anything else under that name (a link, a directory, other content) is not trusted: an error, so the sink is alarmed
 * rather than a checkpoint silently skipped.
 */
function alreadyWritten(file: string, checkpoint: SignedCheckpoint): boolean {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
  if (!stat.isFile()) throw new Error(`${file} exists and is not a regular file`);
  let found: SignedCheckpoint;
  try {
    found = parseCheckpoint(JSON.parse(readFileSync(file, "utf8")), file);
  } catch {
    throw new Error(`${file} exists and is not a checkpoint`);
  }
  if (found.seq !== checkpoint.seq || found.headHash !== checkpoint.headHash) {
    throw new Error(`${file} exists and covers another history (head ${found.headHash.slice(0, 12)}…)`);
  }
  return true;
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Temporary files left by a write that a crash interrupted (never a checkpoint: those end in `.json`). */
function removeStaleTemps(dir: string): void {
  const now = Date.now();
  for (const entry of readdirSync(dir)) {
    if (!entry.startsWith(".") || !entry.endsWith(".tmp")) continue;
    const path = join(dir, entry);
    try {
      if (now - statSync(path).mtimeMs > STALE_TEMP_MS) rmSync(path, { force: true });
    } catch {
      // Gone meanwhile.
    }
  }
}

/** An outbox row for the webhook: delivered signed and retried by the notification delivery, like every webhook. */
function webhookWrite(sink: string, checkpoint: SignedCheckpoint, now: Millis): Write {
  return {
    kind: "insertNotification",
    notification: {
      id: newId("ntf"),
      sink,
      event: "audit_checkpoint",
      payload: { checkpoint },
      state: "pending",
      attempts: 0,
      nextAttemptAt: now,
      lastError: null,
      createdAt: now,
      deliveredAt: null,
    },
  };
}
