// The SQLite store's writer thread: owns the write connection, runs group commit and its fsync off the main thread.
//
// Calls arrive a message at a time (each holding every call the owner made since its last message); change sets go
// to the group-commit queue, so those of several messages share a transaction. Answers go back together once the
// work now in hand is done: one message per batch, each change set's answer only after its COMMIT.
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { LocalSqliteStore } from "./local-store.js";
import {
  type Answer,
  type CallsMessage,
  toWire,
  WRITER_OPS,
  type WriterMessage,
  type WriterOp,
  type WriterOptions,
} from "./thread-messages.js";

if (parentPort === null) throw new Error("store-worker runs as a worker thread");
const options = workerData as WriterOptions;

function open(port: MessagePort): LocalSqliteStore | null {
  try {
    return new LocalSqliteStore(options);
  } catch (error) {
    port.postMessage({ kind: "failed", error: toWire(error) } satisfies WriterMessage);
    port.close();
    return null;
  }
}

const opened = open(parentPort);
if (opened !== null) serve(opened, parentPort);

function serve(store: LocalSqliteStore, port: MessagePort): void {
  port.postMessage({ kind: "ready", settings: store.settings() } satisfies WriterMessage);
  const ops: ReadonlySet<string> = new Set(WRITER_OPS);
  let answers: Answer[] = [];
  let flushing = false;
  /** Set once `close` has answered: the thread then lets go of its port and ends. */
  let closed = false;

  function answer(reply: Answer): void {
    answers.push(reply);
    // After the group-commit batch scheduled by the same messages has run: its answers leave in this one message.
    if (!flushing) {
      flushing = true;
      setImmediate(flush);
    }
  }

  function flush(): void {
    flushing = false;
    const sent = answers;
    answers = [];
    try {
      port.postMessage({ kind: "answers", answers: sent, stats: store.stats } satisfies WriterMessage);
    } catch (error) {
      // A value that cannot be cloned fails its own call, not the others sent with it.
      for (const reply of sent) {
        try {
          port.postMessage({ kind: "answers", answers: [reply], stats: store.stats } satisfies WriterMessage);
        } catch {
          port.postMessage({
            kind: "answers",
            answers: [[reply[0], false, toWire(error)]],
            stats: store.stats,
          } satisfies WriterMessage);
        }
      }
    }
    if (closed) port.close();
  }

  function run(op: WriterOp, args: readonly unknown[]): Promise<unknown> {
    const method = store[op] as (...a: readonly unknown[]) => Promise<unknown>;
    return method.apply(store, [...args]);
  }

  port.on("message", (message: CallsMessage) => {
    for (const [id, op, args] of message.calls) {
      if (!ops.has(op)) {
        answer([id, false, toWire(new TypeError(`the store's writer has no operation ${String(op)}`))]);
        continue;
      }
      let result: Promise<unknown>;
      try {
        result = run(op, args);
      } catch (error) {
        answer([id, false, toWire(error)]);
        continue;
      }
      result.then(
        (value) => {
          if (op === "close") closed = true;
          answer([id, true, value]);
        },
        (error: unknown) => answer([id, false, toWire(error)]),
      );
    }
  });
}
