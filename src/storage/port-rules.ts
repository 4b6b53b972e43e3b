// Rules every Store implementation applies the same way, so SQLite and PostgreSQL refuse the same inputs.
import type { AuditEvent, GrantState } from "../domain/index.js";
import { type ChangeSet, ConflictError, StoreUnavailableError } from "./store.js";

/** Every grant state, for reports that must show zeros (a gauge that drops to nothing must read 0, not vanish). */
export const GRANT_STATES = [
  "issuing",
  "active",
  "revoking",
  "revoke_failed",
  "revoked",
  "verified",
] as const satisfies readonly GrantState[];

// Stops compiling when the domain gains a grant state that is missing above.
type MissingGrantStates = Exclude<GrantState, (typeof GRANT_STATES)[number]>;
const _everyGrantState: [MissingGrantStates] extends [never] ? true : MissingGrantStates = true;
void _everyGrantState;

/**
 * Refuses a change set that can never be right, before it reaches the database.
 * No audit event: every change is audited (DESIGN §6.9). An update must move the version by exactly one,
 * otherwise two writers could both pass the optimistic check and the second would silently overwrite the first.
 */
export function validateChangeSet(changes: ChangeSet): void {
  if (changes.audit.length === 0) {
    throw new Error("refused a change set without audit events: every change is audited");
  }
  for (const write of changes.writes) {
    if (write.kind === "updateRequest" || write.kind === "updateGrant" || write.kind === "updateIdentity") {
      const entity =
        write.kind === "updateRequest" ? write.request : write.kind === "updateGrant" ? write.grant : write.identity;
      if (entity.version !== write.expectedVersion + 1) {
        throw new Error(
          `${write.kind} ${entity.id}: new version ${entity.version} must be expectedVersion ${write.expectedVersion} + 1`,
        );
      }
    }
  }
}

/** A page size must be a non-negative integer: SQLite reads `LIMIT -1` as "no limit", which would hide a bug. */
export function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  return limit;
}

/**
 * Whether the store can commit: false from a commit the database could not make (a full disk, a lost connection, a
 * read-only file; not a version conflict) until the next commit lands. Readiness reports it, so a load balancer
 * moves traffic away from a broker that can read but not write.
 */
export class WriteHealth {
  #failing = false;

  get writable(): boolean {
    return !this.#failing;
  }

  track(commit: Promise<readonly AuditEvent[]>): Promise<readonly AuditEvent[]> {
    return commit.then(
      (events) => {
        this.#failing = false;
        return events;
      },
      (error: unknown) => {
        // A conflict is the database answering; anything else it refused is a commit it could not make.
        if (!(error instanceof ConflictError)) this.#failing = true;
        throw error;
      },
    );
  }
}

/** What every store's `apply` does first: refuse when closed or when the change set can never be right, else submit. */
export function admitChangeSet(
  closed: boolean,
  changes: ChangeSet,
  submit: (changes: ChangeSet) => Promise<readonly AuditEvent[]>,
  health?: WriteHealth,
): Promise<readonly AuditEvent[]> {
  if (closed) return Promise.reject(new StoreUnavailableError("the store is closed"));
  try {
    validateChangeSet(changes);
  } catch (error) {
    return Promise.reject(error);
  }
  return health ? health.track(submit(changes)) : submit(changes);
}
