// What each write of a change set runs, in every dialect: the statement, its parameters, and which conflict it means
// when it changes no row. The dialects only execute the plan.
import { ConflictError, type Write } from "../store.js";
import { grantToRow } from "./grant-rows.js";
import { identityToRow } from "./identity-rows.js";
import { toJson } from "./json.js";
import { notificationToRow } from "./outbox-rows.js";
import { requestToRow } from "./request-rows.js";
import { stateParams } from "./state-rows.js";
import type { WriteStatement } from "./statements.js";

export interface WriteStep {
  readonly statement: WriteStatement;
  readonly params: object;
  /** For an insert, the row it creates: a duplicate key means two writers raced to create it (a conflict). */
  readonly creates: string | null;
  /** The conflict when the statement changed no row; null when changing none is fine. */
  readonly unchanged: (() => ConflictError) | null;
}

export function planWrite(write: Write): WriteStep {
  switch (write.kind) {
    case "insertRequest":
      return insert("insertRequest", requestToRow(write.request), `request ${write.request.id}`);
    case "updateRequest":
      return update("updateRequest", requestToRow(write.request), "request", write.request.id, write.expectedVersion);
    case "insertGrant":
      return insert("insertGrant", grantToRow(write.grant), `grant ${write.grant.id}`);
    case "updateGrant":
      return update("updateGrant", grantToRow(write.grant), "grant", write.grant.id, write.expectedVersion);
    case "insertIdentity":
      return insert("insertIdentity", identityToRow(write.identity), `identity ${write.identity.id}`);
    case "updateIdentity":
      return update(
        "updateIdentity",
        identityToRow(write.identity),
        "identity",
        write.identity.id,
        write.expectedVersion,
      );
    case "assertIdentityActive":
      return {
        statement: "assertIdentityActive",
        params: { id: write.identityId, version: write.version },
        creates: null,
        unchanged: () =>
          new ConflictError(`identity ${write.identityId} is no longer active at version ${write.version}`),
      };
    case "insertNotification":
      return insert(
        "insertNotification",
        notificationToRow(write.notification),
        `notification ${write.notification.id}`,
      );
    case "settleNotification":
      return step("settleNotification", notificationToRow(write.notification));
    case "putState":
      return step("putState", stateParams(write));
    case "deleteState":
      return step("deleteState", { namespace: write.namespace, key: write.key });
    case "claimOnce":
      return {
        statement: "insertStateOnce",
        params: { ...stateParams(write), now: write.now },
        creates: null,
        unchanged: () => present(write),
      };
    case "replaceState":
      return {
        statement: write.expected === null ? "insertStateIfAbsent" : "replaceStateIf",
        params:
          write.expected === null
            ? stateParams(write)
            : { ...stateParams(write), expected: toJson(write.expected.value, "expected state") },
        creates: null,
        unchanged: () => changedMeanwhile(write),
      };
  }
}

function step(statement: WriteStatement, params: object): WriteStep {
  return { statement, params, creates: null, unchanged: null };
}

function insert(statement: WriteStatement, params: object, what: string): WriteStep {
  return { statement, params, creates: what, unchanged: null };
}

function update(
  statement: WriteStatement,
  row: object,
  entity: string,
  id: string,
  expectedVersion: number,
): WriteStep {
  return {
    statement,
    params: { ...row, expected_version: expectedVersion },
    creates: null,
    unchanged: () => stale(entity, id, expectedVersion),
  };
}

export function duplicate(what: string): ConflictError {
  return new ConflictError(`${what} already exists`);
}

function present(write: { namespace: string; key: string }): ConflictError {
  return new ConflictError(`state ${write.namespace}/${write.key} is already present and unexpired`);
}

function changedMeanwhile(write: { namespace: string; key: string }): ConflictError {
  return new ConflictError(`state ${write.namespace}/${write.key} is no longer what the writer read`);
}

function stale(entity: string, id: string, expectedVersion: number): ConflictError {
  return new ConflictError(`${entity} ${id} is no longer at version ${expectedVersion} (changed or missing)`);
}
