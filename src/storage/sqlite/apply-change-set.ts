// Runs one change set's writes and appends its audit events, inside the caller's savepoint. Synchronous by design.
import Database from "better-sqlite3";
import { type ChainHead, chainDraft } from "../../domain/audit-chain.js";
import type { AuditEvent } from "../../domain/types.js";
import { newId } from "../../support/ids.js";
import { type ChangeSet, ConflictError, type Write } from "../store.js";
import { eventToRow, grantToRow, identityToRow, notificationToRow, requestToRow, toJson } from "./rows.js";
import type { Statements } from "./statements.js";

/**
 * Applies the writes, then chains and inserts the audit events after `head`.
 * Throws ConflictError on a stale version or a duplicate id; the caller rolls the savepoint back.
 */
export function applyChangeSet(
  s: Statements,
  changes: ChangeSet,
  head: ChainHead,
): { events: AuditEvent[]; head: ChainHead } {
  for (const write of changes.writes) applyWrite(s, write);
  const events: AuditEvent[] = [];
  let last = head;
  for (const draft of changes.audit) {
    const event = chainDraft(draft, last, newId("evt"));
    s.insertEvent.run(eventToRow(event));
    events.push(event);
    last = { seq: event.seq, hash: event.hash };
  }
  return { events, head: last };
}

function applyWrite(s: Statements, write: Write): void {
  switch (write.kind) {
    case "insertRequest":
      insertOnce(() => s.insertRequest.run(requestToRow(write.request)), `request ${write.request.id}`);
      return;
    case "updateRequest": {
      const row = { ...requestToRow(write.request), expected_version: write.expectedVersion };
      if (s.updateRequest.run(row).changes === 0) throw stale("request", write.request.id, write.expectedVersion);
      return;
    }
    case "insertGrant":
      insertOnce(() => s.insertGrant.run(grantToRow(write.grant)), `grant ${write.grant.id}`);
      return;
    case "updateGrant": {
      const row = { ...grantToRow(write.grant), expected_version: write.expectedVersion };
      if (s.updateGrant.run(row).changes === 0) throw stale("grant", write.grant.id, write.expectedVersion);
      return;
    }
    case "insertIdentity":
      insertOnce(() => s.insertIdentity.run(identityToRow(write.identity)), `identity ${write.identity.id}`);
      return;
    case "updateIdentity": {
      const row = { ...identityToRow(write.identity), expected_version: write.expectedVersion };
      if (s.updateIdentity.run(row).changes === 0) throw stale("identity", write.identity.id, write.expectedVersion);
      return;
    }
    case "putState":
      s.putState.run(stateParams(write));
      return;
    case "insertNotification":
      insertOnce(
        () => s.insertNotification.run(notificationToRow(write.notification)),
        `notification ${write.notification.id}`,
      );
      return;
    case "settleNotification":
      s.settleNotification.run(notificationToRow(write.notification));
      return;
    case "deleteState":
      s.deleteState.run(write.namespace, write.key);
      return;
    case "claimOnce": {
      const row = stateParams(write);
      if (s.insertStateOnce.run({ ...row, now: write.now }).changes === 0) throw present(write);
      return;
    }
    case "replaceState": {
      const row = stateParams(write);
      const changed =
        write.expected === null
          ? s.insertStateIfAbsent.run(row).changes
          : s.replaceStateIf.run({ ...row, expected: toJson(write.expected.value, "expected state") }).changes;
      if (changed === 0) throw changedMeanwhile(write);
      return;
    }
  }
}

type StateWrite = Extract<Write, { kind: "putState" | "claimOnce" | "replaceState" }>;

/** The bound parameters of a state row; shared by every state write and by the PostgreSQL store. */
export function stateParams(write: StateWrite): {
  namespace: string;
  key: string;
  value: string;
  expires_at: number | null;
} {
  return {
    namespace: write.namespace,
    key: write.key,
    value: toJson(write.value, `state ${write.namespace}/${write.key}`),
    expires_at: write.expiresAt,
  };
}

export function present(write: { namespace: string; key: string }): ConflictError {
  return new ConflictError(`state ${write.namespace}/${write.key} is already present and unexpired`);
}

export function changedMeanwhile(write: { namespace: string; key: string }): ConflictError {
  return new ConflictError(`state ${write.namespace}/${write.key} is no longer what the writer read`);
}

export function stale(entity: string, id: string, expectedVersion: number): ConflictError {
  return new ConflictError(`${entity} ${id} is no longer at version ${expectedVersion} (changed or missing)`);
}

/** A second insert of the same id is a conflict (two workers raced to create it), not a storage failure. */
function insertOnce(run: () => void, what: string): void {
  try {
    run();
  } catch (error) {
    if (
      error instanceof Database.SqliteError &&
      (error.code === "SQLITE_CONSTRAINT_PRIMARYKEY" || error.code === "SQLITE_CONSTRAINT_UNIQUE")
    ) {
      throw new ConflictError(`${what} already exists`);
    }
    throw error;
  }
}
