// The owner's side of the store's writer thread: calls leave in one message per turn of the event loop, answers come
// back in one message per batch, and a thread that stops fails every call it held with StoreUnavailableError.
import { Worker } from "node:worker_threads";
import { StoreUnavailableError } from "../store.js";
import type { ConnectionSettings } from "./connection.js";
import type { SqliteStoreStats } from "./local-store.js";
import {
  type Call,
  type CallsMessage,
  fromWire,
  type WriterMessage,
  type WriterOp,
  type WriterOptions,
} from "./thread-messages.js";

interface Waiting {
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
}

export class WriterThread {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, Waiting>();
  #outbox: Call[] = [];
  #sending: NodeJS.Immediate | null = null;
  #nextId = 1;
  /** Why the thread is gone, once it is: every later call fails with it. */
  #stopped: StoreUnavailableError | null = null;
  #stats: SqliteStoreStats = { commits: 0, changeSets: 0, failedChangeSets: 0, largestBatch: 0 };
  /** Resolves with the write connection's settings once the thread has opened the database. */
  readonly ready: Promise<ConnectionSettings>;

  constructor(script: URL, options: WriterOptions) {
    this.#worker = new Worker(script, { workerData: options });
    // An idle writer does not keep the process alive; one with calls in flight does (see #track).
    this.#worker.unref();
    let opened: (settings: ConnectionSettings) => void = () => {};
    let failed: (error: unknown) => void = () => {};
    this.ready = new Promise<ConnectionSettings>((resolve, reject) => {
      opened = resolve;
      failed = reject;
    });
    // The caller may never wait for `ready` (a store closed at once); its failure is reported through the calls.
    this.ready.catch(() => {});
    this.#worker.ref();
    this.#worker.on("message", (message: WriterMessage) => {
      if (message.kind === "ready") {
        this.#track();
        opened(message.settings);
      } else if (message.kind === "failed") {
        const error = fromWire(message.error);
        failed(error);
        this.#stop(new StoreUnavailableError("the store could not be opened", { cause: error }));
      } else {
        this.#stats = message.stats;
        for (const [id, ok, value] of message.answers) {
          const waiting = this.#waiting.get(id);
          if (waiting === undefined) continue;
          this.#waiting.delete(id);
          if (ok) waiting.resolve(value);
          else waiting.reject(fromWire(value));
        }
        this.#track();
      }
    });
    this.#worker.on("error", (error) => {
      failed(error);
      this.#stop(new StoreUnavailableError("the store's writer thread failed", { cause: error }));
    });
    this.#worker.on("exit", (code) => {
      const error = new StoreUnavailableError(`the store's writer thread stopped (exit code ${code})`);
      failed(error);
      this.#stop(error);
    });
  }

  get stats(): SqliteStoreStats {
    return this.#stats;
  }

  /** False once the thread has stopped, for whatever reason. */
  get running(): boolean {
    return this.#stopped === null;
  }

  /** Runs `op` on the writer; sent with every other call made in this turn of the event loop, in order. */
  call(op: WriterOp, args: readonly unknown[]): Promise<unknown> {
    if (this.#stopped !== null) return Promise.reject(this.#stopped);
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      this.#waiting.set(id, { resolve, reject });
      this.#outbox.push([id, op, args]);
      this.#sending ??= setImmediate(() => this.#send());
      this.#track();
    });
  }

  /** Ends the thread now: calls in flight fail (a change set in flight may or may not have committed). */
  async terminate(): Promise<void> {
    if (this.#sending !== null) this.#send();
    await this.#worker.terminate();
  }

  #send(): void {
    if (this.#sending !== null) clearImmediate(this.#sending);
    this.#sending = null;
    const calls = this.#outbox;
    this.#outbox = [];
    if (calls.length === 0 || this.#stopped !== null) return;
    try {
      this.#worker.postMessage({ calls } satisfies CallsMessage);
    } catch {
      // One argument that cannot be cloned (a function, a symbol) fails its own call, not those sent with it.
      for (const call of calls) {
        try {
          this.#worker.postMessage({ calls: [call] } satisfies CallsMessage);
        } catch (error) {
          this.#settle(call[0], (w) => w.reject(error));
        }
      }
    }
  }

  #settle(id: number, how: (waiting: Waiting) => void): void {
    const waiting = this.#waiting.get(id);
    if (waiting === undefined) return;
    this.#waiting.delete(id);
    how(waiting);
    this.#track();
  }

  /** Keeps the process alive exactly while calls wait for an answer, so no awaited write is abandoned at exit. */
  #track(): void {
    if (this.#waiting.size > 0) this.#worker.ref();
    else this.#worker.unref();
  }

  #stop(error: StoreUnavailableError): void {
    if (this.#stopped !== null) return;
    this.#stopped = error;
    if (this.#sending !== null) clearImmediate(this.#sending);
    this.#sending = null;
    this.#outbox = [];
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of waiting) w.reject(error);
    this.#worker.unref();
  }
}
