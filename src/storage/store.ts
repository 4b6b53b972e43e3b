// The store port: everything the broker keeps durably, as the composition of one port per aggregate for wiring.
// Code that needs one aggregate takes that port (grants.ts, requests.ts, …), not the whole Store.
import type { AuditLog } from "./audit-log.js";
import type { ChangeSets } from "./change-set.js";
import type { GrantStore } from "./grants.js";
import type { IdentityStore } from "./identities.js";
import type { Leases } from "./leases.js";
import type { Outbox } from "./outbox.js";
import type { RequestStore } from "./requests.js";
import type { StateStore } from "./state.js";

export type { AuditLog } from "./audit-log.js";
export type { ChangeSet, ChangeSets, Write } from "./change-set.js";
export { ConflictError, StoreUnavailableError } from "./errors.js";
export type {
  ClaimRequest,
  GrantFilter,
  GrantReport,
  GrantStore,
  GrantUsage,
  ReportRange,
} from "./grants.js";
export type { ApiKeyRecord, IdentityFilter, IdentitySighting, IdentityStore } from "./identities.js";
export type { HeldLease, LeaseRequest, Leases } from "./leases.js";
export type { NotificationRecord, Outbox } from "./outbox.js";
export type { RequestFilter, RequestStore } from "./requests.js";
export type { StateEntry, StatePort, StateReader, StateStore, StoredState } from "./state.js";
export { StateNamespace, StateRepository } from "./state.js";

export interface Store
  extends ChangeSets,
    GrantStore,
    RequestStore,
    Outbox,
    AuditLog,
    IdentityStore,
    StateStore,
    Leases {
  /** Creates or upgrades the schema. Safe to call on every start. */
  migrate(): Promise<void>;
  /** True when the store answers; for readiness. */
  ping(): Promise<boolean>;
  /** False after a commit the database could not make (not a conflict), until a commit lands again; for readiness. */
  readonly writable: boolean;
  close(): Promise<void>;
}
