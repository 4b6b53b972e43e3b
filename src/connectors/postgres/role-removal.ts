// Removal of a login role the broker made, in the order that really ends access on PostgreSQL (each step measured in
// postgres-facts.test.ts): an open session survives VALID UNTIL in the past, NOLOGIN and DROP ROLE, and after the drop
// pg_stat_activity no longer names it. So: block new logins, end every backend by oid, revoke memberships, move or drop
// what the role owns in every database that has any, and only then drop the role. Each step is idempotent.

import type { QueryResult } from "pg";
import { GRANT_MARKER, grantMarker } from "./accounts.js";
import { escapeIdentifier, type PgAdmin, sqlStateOf } from "./admin-connection.js";

/** How long removal waits for terminated backends to leave pg_stat_activity before it fails (and is retried). */
const SESSION_END_WAIT_MS = 5_000;

export interface SessionFilter {
  /** The role the sessions logged in as (pg_stat_activity.usesysid, which survives DROP ROLE). */
  readonly oid: number;
  /** Only sessions that began before this instant (ISO), when later ones cannot hold what is being removed. */
  readonly startedBefore?: string;
}

/** Terminates every backend matching `filter` and waits, bounded, until they are gone. Returns their pids. */
export async function endSessions(admin: PgAdmin, filter: SessionFilter): Promise<number[]> {
  const where = "usesysid = $1 AND pid <> pg_backend_pid() AND ($2::timestamptz IS NULL OR backend_start < $2)";
  const values = [filter.oid, filter.startedBefore ?? null];
  // pg_terminate_backend raises 42501 without pg_signal_backend (or membership): that error is the right failure.
  const ended = await admin.query<{ pid: number }>(
    `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${where}`,
    values,
  );
  const pids = ended.rows.map((r) => Number(r.pid));
  if (pids.length > 0) await sessionsGone(admin, filter);
  return pids;
}

/** Waits, bounded, until no backend matching `filter` is left in pg_stat_activity (terminated ones take a moment). */
async function sessionsGone(admin: PgAdmin, filter: SessionFilter): Promise<void> {
  const where = "usesysid = $1 AND pid <> pg_backend_pid() AND ($2::timestamptz IS NULL OR backend_start < $2)";
  const values = [filter.oid, filter.startedBefore ?? null];
  const deadline = Date.now() + SESSION_END_WAIT_MS;
  for (;;) {
    const left = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${where}`,
      values,
    );
    if ((left.rows[0]?.n ?? 0) === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${left.rows[0]?.n} session(s) of role oid ${filter.oid} did not end within ${SESSION_END_WAIT_MS} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

interface RoleState {
  readonly oid: string;
  readonly rolsuper: boolean;
  readonly comment: string | null;
  /** The group roles it is a member of. */
  readonly groups: string[];
  /** Whether pg_shdepend records anything of it (owned objects, privileges, policies) in any database. */
  readonly owns: boolean;
}

/** Everything removal decides on, in one read: the role, its marker, its memberships, whether it owns anything. */
const ROLE_STATE = `
  SELECT r.oid::int8 AS oid, r.rolsuper, shobj_description(r.oid, 'pg_authid') AS comment,
         ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                WHERE m.member = r.oid ORDER BY 1) AS groups,
         EXISTS (SELECT 1 FROM pg_shdepend s WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = r.oid) AS owns
    FROM pg_roles r WHERE r.rolname = $1`;

export interface RoleToRemove {
  /** The role name: a grant's handle, a validated identifier. */
  readonly name: string;
  /** The oid recorded at issue, so sessions are found even when the role was already dropped. */
  readonly knownOid: number | null;
  /** The grant whose marker the role must carry; null accepts any broker marker (reconciler). */
  readonly grantId: string | null;
}

/** What removing a role did: whether the role was there, and the backends (pids) it ended. */
export interface RoleRemoval {
  readonly existed: boolean;
  readonly sessions: readonly number[];
}

/** Removes the role and everything that keeps its access alive. */
export async function removeRole(admin: PgAdmin, target: RoleToRemove, oneTrip = true): Promise<RoleRemoval> {
  const found = await admin.query<RoleState>(ROLE_STATE, [target.name]);
  const row = found.rows[0];
  if (!row) {
    // Already dropped (a retry, or removed by hand): sessions may still be open under the old oid.
    if (target.knownOid === null) return { existed: false, sessions: [] };
    const stillUsed = await admin.query("SELECT 1 FROM pg_roles WHERE oid = $1", [target.knownOid]);
    if (stillUsed.rowCount !== 0) return { existed: false, sessions: [] };
    return { existed: false, sessions: await endSessions(admin, { oid: target.knownOid }) };
  }
  const marked =
    target.grantId === null ? row.comment?.startsWith(GRANT_MARKER) : row.comment === grantMarker(target.grantId);
  if (!marked || row.rolsuper) {
    throw new Error(`role ${target.name} exists but does not carry this grant's marker; refusing to remove it`);
  }
  const oid = Number(row.oid);
  if (oneTrip && !row.owns) {
    try {
      return await dropInOneTrip(admin, target.name, oid, row.groups);
    } catch (error) {
      // The server refused a statement (something the role made meanwhile, a concurrent removal): what was not
      // committed rolled back, so start again from a fresh read, step by step, keeping the oid for the sessions.
      if (sqlStateOf(error) === null) throw error;
      return removeRole(admin, { ...target, knownOid: target.knownOid ?? oid }, false);
    }
  }
  return dropStepByStep(admin, target.name, oid);
}

/**
 * The usual case, a role that owns nothing: one round trip and one commit. NOLOGIN, the first termination sweep, the
 * REVOKEs and DROP ROLE share a transaction; the sweep after COMMIT ends a login that authenticated while NOLOGIN was
 * not yet visible (the step-by-step path's second sweep, for the same reason). The oid comes from the catalogue read,
 * names are escaped identifiers: nothing from a caller reaches the script.
 */
async function dropInOneTrip(
  admin: PgAdmin,
  name: string,
  oid: number,
  groups: readonly string[],
): Promise<RoleRemoval> {
  if (!Number.isSafeInteger(oid) || oid <= 0) throw new Error(`role ${name} has no usable oid (${oid})`);
  const ident = escapeIdentifier(name);
  const sweep = `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE usesysid = ${oid} AND pid <> pg_backend_pid()`;
  const results = await admin.script(
    [
      `ALTER ROLE ${ident} NOLOGIN`,
      sweep,
      ...groups.map((group) => `REVOKE ${escapeIdentifier(group)} FROM ${ident}`),
      `DROP ROLE ${ident}`,
      "COMMIT",
      sweep,
    ].join(";\n"),
  );
  const pidsOf = (result: QueryResult | undefined) => (result?.rows ?? []).map((r) => Number(r.pid));
  const sessions = [...new Set([...pidsOf(results[1]), ...pidsOf(results.at(-1))])];
  if (sessions.length > 0) await sessionsGone(admin, { oid });
  return { existed: true, sessions };
}

/** Each step in turn, for a role that owns objects (REASSIGN and DROP OWNED run per database, on other connections). */
async function dropStepByStep(admin: PgAdmin, name: string, oid: number): Promise<RoleRemoval> {
  const ident = escapeIdentifier(name);
  await admin.query(`ALTER ROLE ${ident} NOLOGIN`);
  const sessions = await endSessions(admin, { oid });

  const groups = await admin.query<{ rolname: string }>(
    "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = $1",
    [oid],
  );
  for (const { rolname } of groups.rows) {
    await admin.query(`REVOKE ${escapeIdentifier(rolname)} FROM ${ident}`);
  }

  await removeOwned(admin, name, oid);
  await admin.query(`DROP ROLE IF EXISTS ${ident}`);
  // A login that passed authentication just before NOLOGIN may have registered after the first sweep.
  sessions.push(...(await endSessions(admin, { oid })));
  return { existed: true, sessions };
}

/**
 * REASSIGN OWNED to the admin, then DROP OWNED (privileges, default ACLs, policies), in each database where
 * pg_shdepend (a shared catalog, so one query sees every database) records something of the role. Shared objects
 * (dbid 0) are handled from the configured database. A database the admin cannot connect to makes removal fail with
 * its name, for an operator; DROP ROLE would fail anyway.
 */
/** The role that keeps objects removed grants created: `ephemera_orphan_owner`, NOLOGIN, no privileges, made once. */
export const ORPHAN_OWNER = "ephemera_orphan_owner";

async function ensureOrphanOwner(admin: PgAdmin): Promise<string> {
  const exists = await admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [ORPHAN_OWNER]);
  if (exists.rowCount === 0) {
    try {
      await admin.query(`CREATE ROLE ${escapeIdentifier(ORPHAN_OWNER)} NOLOGIN NOINHERIT`);
    } catch (error) {
      // Another removal made it first.
      if (sqlStateOf(error) !== "42710") throw error;
    }
  }
  return ORPHAN_OWNER;
}

async function removeOwned(admin: PgAdmin, name: string, oid: number): Promise<void> {
  const found = await admin.query<{ datname: string | null }>(
    `SELECT DISTINCT d.datname FROM pg_shdepend s LEFT JOIN pg_database d ON d.oid = s.dbid
      WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = $1`,
    [oid],
  );
  if (found.rowCount === 0) return;
  const home = admin.endpoint.database;
  const databases = [...new Set(found.rows.map((r) => r.datname ?? home))].sort((a, b) =>
    a === home ? -1 : b === home ? 1 : a.localeCompare(b),
  );
  const ident = escapeIdentifier(name);
  const adminIdent = escapeIdentifier(admin.endpoint.user);
  // What the role created goes to a NOLOGIN owner with no privileges, never to the admin: a SECURITY DEFINER function
  // or a view the grant holder planted would otherwise run with the admin's rights once reassigned.
  const ownerIdent = escapeIdentifier(await ensureOrphanOwner(admin));
  // REASSIGN and DROP OWNED need the privileges of both roles: a superuser has them, a CREATEROLE admin
  // (PostgreSQL 15) gets them by membership, which DROP ROLE then removes with the role.
  if (!(await admin.adminRole()).superuser) {
    await admin.query(`GRANT ${ident} TO ${adminIdent}`);
    await admin.query(`GRANT ${ownerIdent} TO ${adminIdent}`);
  }
  for (const database of databases) {
    try {
      await admin.inDatabase(database, async (client) => {
        await client.query(`REASSIGN OWNED BY ${ident} TO ${ownerIdent}`);
        await client.query(`DROP OWNED BY ${ident}`);
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(
        `objects of role ${name} in database ${database} could not be reassigned or dropped (${sqlStateOf(error) ?? "connection"}: ${reason})`,
      );
    }
  }
}
