// Key-value state and leases as SQL rows: values as JSON text, expiry as a nullable column.
import type { HeldLease, StoredState, Write } from "../store.js";
import { toJson } from "./json.js";

export interface StateRow {
  key: string;
  value: string;
  expires_at: number | null;
}

export interface LeaseRow {
  name: string;
  holder: string;
  expires_at: number;
  token: number;
}

/** The bound parameters of a state row; every state write and every dialect binds the same ones. */
export type StateParams = {
  namespace: string;
  key: string;
  value: string;
  expires_at: number | null;
};

type StateWrite = Extract<Write, { kind: "putState" | "claimOnce" | "replaceState" }>;

export function stateParams(write: StateWrite): StateParams {
  return {
    namespace: write.namespace,
    key: write.key,
    value: toJson(write.value, `state ${write.namespace}/${write.key}`),
    expires_at: write.expiresAt,
  };
}

export function rowToState(row: StateRow): StoredState {
  return { key: row.key, value: JSON.parse(row.value) as unknown, expiresAt: row.expires_at };
}

export function rowToLease(row: LeaseRow): HeldLease {
  return { name: row.name, holder: row.holder, expiresAt: row.expires_at, token: row.token };
}
