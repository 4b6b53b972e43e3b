// What the store's writer thread and the thread that owns the store say to each other, and how errors cross between them.
import Database from "better-sqlite3";
import { ConflictError, StoreUnavailableError } from "../store.js";
import type { ConnectionSettings } from "./connection.js";
import type { LocalSqliteStore, SqliteStoreStats } from "./local-store.js";

/** The store methods the writer thread runs: every write, and the schema. Reads run on the owner's own connection. */
export const WRITER_OPS = [
  "apply",
  "migrate",
  "claimDue",
  "claimDueNotifications",
  "settleNotification",
  "pruneHistory",
  "releaseClaims",
  "markIdentitiesSeen",
  "markGrantsUsed",
  "putApiKey",
  "purgeExpiredState",
  "acquireLease",
  "releaseLease",
  "close",
] as const satisfies readonly (keyof LocalSqliteStore)[];

export type WriterOp = (typeof WRITER_OPS)[number];

/** What the writer is started with (`workerData`). */
export interface WriterOptions {
  readonly path: string;
  readonly maxBatch: number;
  readonly busyTimeoutMs: number;
}

/** One call: its id, the method and its arguments. A message carries every call made since the last one was sent. */
export type Call = readonly [id: number, op: WriterOp, args: readonly unknown[]];
export interface CallsMessage {
  readonly calls: readonly Call[];
}

/** One answer: the call's id, and its value or its error. */
export type Answer =
  | readonly [id: number, ok: true, value: unknown]
  | readonly [id: number, ok: false, error: WireError];

export type WriterMessage =
  | { readonly kind: "ready"; readonly settings: ConnectionSettings }
  /** The database could not be opened: the store never starts. */
  | { readonly kind: "failed"; readonly error: WireError }
  | { readonly kind: "answers"; readonly answers: readonly Answer[]; readonly stats: SqliteStoreStats };

/** An error as it crosses threads: structured clone keeps neither the class nor `code`, so both travel by name. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly cause?: WireError;
}

export function toWire(error: unknown, depth = 0): WireError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  const code = (error as { code?: unknown }).code;
  const cause = error.cause !== undefined && depth < 3 ? toWire(error.cause, depth + 1) : undefined;
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === "string" ? { code } : {}),
    ...(cause === undefined ? {} : { cause }),
  };
}

/** The error again, of the class callers test for: ConflictError, StoreUnavailableError, SqliteError, a built-in. */
export function fromWire(wire: WireError): Error {
  const options = wire.cause === undefined ? undefined : { cause: fromWire(wire.cause) };
  switch (wire.name) {
    case "ConflictError":
      return new ConflictError(wire.message);
    case "StoreUnavailableError":
      return new StoreUnavailableError(wire.message, options);
    case "SqliteError":
      return new Database.SqliteError(wire.message, wire.code ?? "SQLITE_ERROR");
    case "TypeError":
      return new TypeError(wire.message, options);
    case "RangeError":
      return new RangeError(wire.message, options);
    default: {
      const error = new Error(wire.message, options);
      error.name = wire.name;
      return error;
    }
  }
}
