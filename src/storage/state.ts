// The key-value state port: namespaced JSON entries, optionally expiring, read here and written through change sets;
// and the typed repository feature code uses instead of spelling namespaces and write kinds itself.
import type { Millis } from "../domain/index.js";
import type { ChangeSets, Write } from "./change-set.js";

export interface StoredState {
  readonly key: string;
  readonly value: unknown;
  readonly expiresAt: Millis | null;
}

export interface StateStore {
  /** Connector-owned state (signing keys, deny-lists): namespaced, JSON, optionally expiring. Writes go through change sets. */
  getState(namespace: string, key: string): Promise<StoredState | null>;
  listState(namespace: string): Promise<readonly StoredState[]>;
  /** Deletes expired connector state; returns how many rows went. */
  purgeExpiredState(now: Millis): Promise<number>;
}

/** Reads of state entries, without purging: what a repository reads through. */
export type StateReader = Pick<StateStore, "getState" | "listState">;

/** What a feature keeping state needs from the store: reads of its entries, and change sets to write them. */
export type StatePort = StateReader & ChangeSets;

/** One entry of a typed namespace. */
export interface StateEntry<T> {
  readonly key: string;
  readonly value: T;
  readonly expiresAt: Millis | null;
}

/**
 * One namespace of state with its value type, declared once next to the feature that keeps it: builds the writes for
 * the caller's change set, and gives a repository to read through (`in(store)`).
 */
export class StateNamespace<T> {
  constructor(readonly namespace: string) {}

  /** This namespace read through `store`. */
  in(store: StateReader): StateRepository<T> {
    return new StateRepository<T>(store, this.namespace);
  }

  /** Sets the entry, whatever it held. */
  put(key: string, value: T, expiresAt: Millis | null = null): Write {
    return { kind: "putState", namespace: this.namespace, key, value, expiresAt };
  }

  delete(key: string): Write {
    return { kind: "deleteState", namespace: this.namespace, key };
  }

  /** Takes the key until `expiresAt` (null: for good); the change set fails with ConflictError while a claim is live. */
  claimOnce(key: string, value: T, expiresAt: Millis | null, now: Millis): Write {
    return { kind: "claimOnce", namespace: this.namespace, key, value, expiresAt, now };
  }

  /** Compare-and-set: replaces the entry only while it still holds `expected` (null: only while absent). */
  replace(key: string, value: T, expected: T | null, expiresAt: Millis | null = null): Write {
    return {
      kind: "replaceState",
      namespace: this.namespace,
      key,
      value,
      expiresAt,
      expected: expected === null ? null : { value: expected },
    };
  }
}

/**
 * One namespace of state read through a store: reads return `T`; writes are built as by StateNamespace.
 * The store reads no clock, so an entry past its expiry is returned until purged: callers compare `expiresAt`.
 */
export class StateRepository<T> extends StateNamespace<T> {
  constructor(
    private readonly store: StateReader,
    namespace: string,
  ) {
    super(namespace);
  }

  async get(key: string): Promise<StateEntry<T> | null> {
    const row = await this.store.getState(this.namespace, key);
    return row === null ? null : (row as StateEntry<T>);
  }

  /** Every entry, in key order. */
  async list(): Promise<readonly StateEntry<T>[]> {
    return (await this.store.listState(this.namespace)) as readonly StateEntry<T>[];
  }
}
