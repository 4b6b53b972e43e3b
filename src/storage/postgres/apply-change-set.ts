// Runs one change set's writes on an open PostgreSQL transaction; the caller chains and inserts its audit events.
import type { PoolClient } from "pg";
import { changedMeanwhile, present, stale, stateParams } from "../sqlite/apply-change-set.js";
import { grantToRow, identityToRow, notificationToRow, requestToRow, toJson } from "../sqlite/rows.js";
import { ConflictError, type Write } from "../store.js";
import { sqlState } from "./connection.js";
import { bind, type CompiledSql } from "./sql.js";
import { SQL } from "./statements.js";

async function run(client: PoolClient, sql: CompiledSql, params: object): Promise<number> {
  const result = await client.query(sql.text, bind(sql, params));
  return result.rowCount ?? 0;
}

/** Applies the writes in order. Throws ConflictError on a stale version, a duplicate id or a state condition. */
export async function applyWrites(client: PoolClient, writes: readonly Write[]): Promise<void> {
  for (const write of writes) await applyWrite(client, write);
}

async function applyWrite(client: PoolClient, write: Write): Promise<void> {
  switch (write.kind) {
    case "insertRequest":
      await insertOnce(
        () => run(client, SQL.insertRequest, requestToRow(write.request)),
        `request ${write.request.id}`,
      );
      return;
    case "updateRequest": {
      const row = { ...requestToRow(write.request), expected_version: write.expectedVersion };
      if ((await run(client, SQL.updateRequest, row)) === 0)
        throw stale("request", write.request.id, write.expectedVersion);
      return;
    }
    case "insertGrant":
      await insertOnce(() => run(client, SQL.insertGrant, grantToRow(write.grant)), `grant ${write.grant.id}`);
      return;
    case "updateGrant": {
      const row = { ...grantToRow(write.grant), expected_version: write.expectedVersion };
      if ((await run(client, SQL.updateGrant, row)) === 0) throw stale("grant", write.grant.id, write.expectedVersion);
      return;
    }
    case "insertIdentity":
      await insertOnce(
        () => run(client, SQL.insertIdentity, identityToRow(write.identity)),
        `identity ${write.identity.id}`,
      );
      return;
    case "updateIdentity": {
      const row = { ...identityToRow(write.identity), expected_version: write.expectedVersion };
      if ((await run(client, SQL.updateIdentity, row)) === 0)
        throw stale("identity", write.identity.id, write.expectedVersion);
      return;
    }
    case "insertNotification":
      await insertOnce(
        () => run(client, SQL.insertNotification, notificationToRow(write.notification)),
        `notification ${write.notification.id}`,
      );
      return;
    case "settleNotification":
      await run(client, SQL.settleNotification, notificationToRow(write.notification));
      return;
    case "putState": {
      const p = stateParams(write);
      await client.query(SQL.putState, [p.namespace, p.key, p.value, p.expires_at]);
      return;
    }
    case "deleteState":
      await client.query(SQL.deleteState, [write.namespace, write.key]);
      return;
    case "claimOnce": {
      if ((await run(client, SQL.insertStateOnce, { ...stateParams(write), now: write.now })) === 0)
        throw present(write);
      return;
    }
    case "replaceState": {
      const p = stateParams(write);
      const values = [p.namespace, p.key, p.value, p.expires_at];
      const result =
        write.expected === null
          ? await client.query(SQL.insertStateIfAbsent, values)
          : await client.query(SQL.replaceStateIf, [...values, toJson(write.expected.value, "expected state")]);
      if ((result.rowCount ?? 0) === 0) throw changedMeanwhile(write);
      return;
    }
  }
}

/** A second insert of the same id is a conflict (two workers raced to create it), not a storage failure. */
async function insertOnce(run: () => Promise<unknown>, what: string): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (sqlState(error) === "23505") throw new ConflictError(`${what} already exists`);
    throw error;
  }
}
