// The roles of a PostgreSQL server as accounts for reconciliation and the standing-privilege report, in PostgreSQL's words.
import type { AccountInfo } from "../connector.js";
import type { PgAdmin } from "./admin-connection.js";

/** The COMMENT ON ROLE the postgres connector puts on the logins it makes; with the prefix it marks them as the broker's. */
export const GRANT_MARKER = "ephemera grant ";

export function grantMarker(grantId: string): string {
  return `${GRANT_MARKER}${grantId}`;
}

/** Built-in roles whose members can act as the server's operating-system user: as good as a superuser. */
const OS_ACCESS_ROLES = ["pg_execute_server_program", "pg_write_server_files"];

export interface RoleRow {
  readonly oid: string;
  readonly rolname: string;
  readonly rolsuper: boolean;
  readonly rolcreaterole: boolean;
  readonly rolcreatedb: boolean;
  readonly rolreplication: boolean;
  readonly rolbypassrls: boolean;
  readonly rolcanlogin: boolean;
  readonly valid_until: number | null;
  readonly comment: string | null;
  readonly member_of: readonly string[];
  /** True when a role reachable through memberships (so by SET ROLE) is a superuser, createrole or OS-access role. */
  readonly admin_by_membership: boolean;
}

// Login roles (accounts) and roles carrying the broker's marker (a role being removed is NOLOGIN for a moment).
const ROLES_SQL = `
SELECT r.oid::int8 AS oid, r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls,
       r.rolcanlogin,
       CASE WHEN r.rolvaliduntil IS NULL OR r.rolvaliduntil = 'infinity' THEN NULL
            ELSE (extract(epoch FROM r.rolvaliduntil) * 1000)::float8 END AS valid_until,
       shobj_description(r.oid, 'pg_authid') AS comment,
       coalesce((SELECT array_agg(g.rolname::text ORDER BY g.rolname)
                   FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), '{}') AS member_of,
       EXISTS (WITH RECURSIVE up(id) AS (
                 SELECT m.roleid FROM pg_auth_members m WHERE m.member = r.oid
                 UNION SELECT m.roleid FROM pg_auth_members m JOIN up ON m.member = up.id)
               SELECT 1 FROM up JOIN pg_roles a ON a.oid = up.id
                WHERE a.rolsuper OR a.rolcreaterole OR a.rolname = ANY($1)) AS admin_by_membership
  FROM pg_roles r
 WHERE r.rolname !~ '^pg_' AND (r.rolcanlogin OR shobj_description(r.oid, 'pg_authid') LIKE $2)
 ORDER BY r.rolname`;

export async function readRoles(admin: PgAdmin): Promise<RoleRow[]> {
  const result = await admin.query<RoleRow>(ROLES_SQL, [OS_ACCESS_ROLES, `${GRANT_MARKER}%`]);
  return result.rows;
}

/** What the role may do, in PostgreSQL's words: its attributes, then its direct memberships. */
export function privilegesOf(row: RoleRow): string[] {
  const attributes: [boolean, string][] = [
    [row.rolsuper, "superuser"],
    [row.rolcreaterole, "createrole"],
    [row.rolcreatedb, "createdb"],
    [row.rolreplication, "replication"],
    [row.rolbypassrls, "bypassrls"],
  ];
  return [
    ...attributes.filter(([held]) => held).map(([, word]) => word),
    ...row.member_of.map((g) => `member of ${g}`),
  ];
}

/** Superuser, createrole (it can make and grant roles), or reaching such a role through memberships. */
export function isAdmin(row: RoleRow): boolean {
  return row.rolsuper || row.rolcreaterole || row.admin_by_membership;
}

export function accountOf(row: RoleRow, managed: boolean, brokerLogin: string): AccountInfo {
  return {
    handle: row.rolname,
    managed,
    expiresAt: row.valid_until,
    privileges: privilegesOf(row),
    admin: isAdmin(row),
    ...(row.rolname === brokerLogin ? { broker: true } : {}),
  };
}

export interface MembershipRow {
  readonly login: string;
  readonly role: string;
  /** The group is, or reaches through its own memberships, a superuser, createrole or OS-access role. */
  readonly admin: boolean;
  readonly role_attributes: readonly string[];
}

/**
 * Memberships the broker's admin login granted to login roles, except those of roles the postgres connector made
 * (they go with their role). With a dedicated admin login these are exactly the elevations the broker made.
 */
export async function readBrokerMemberships(admin: PgAdmin, adminOid: number): Promise<MembershipRow[]> {
  const result = await admin.query<MembershipRow>(
    `SELECT u.rolname AS login, g.rolname AS role,
            g.rolsuper OR g.rolcreaterole OR g.rolname = ANY($2) OR EXISTS (
              WITH RECURSIVE up(id) AS (
                SELECT a.roleid FROM pg_auth_members a WHERE a.member = g.oid
                UNION SELECT a.roleid FROM pg_auth_members a JOIN up ON a.member = up.id)
              SELECT 1 FROM up JOIN pg_roles x ON x.oid = up.id
               WHERE x.rolsuper OR x.rolcreaterole OR x.rolname = ANY($2)) AS admin,
            array_remove(ARRAY[CASE WHEN g.rolsuper THEN 'superuser' END, CASE WHEN g.rolcreaterole THEN 'createrole' END,
                               CASE WHEN g.rolcreatedb THEN 'createdb' END, CASE WHEN g.rolreplication THEN 'replication' END,
                               CASE WHEN g.rolbypassrls THEN 'bypassrls' END], NULL) AS role_attributes
       FROM pg_auth_members m JOIN pg_roles u ON u.oid = m.member JOIN pg_roles g ON g.oid = m.roleid
      WHERE m.grantor = $1 AND u.rolcanlogin AND coalesce(shobj_description(u.oid, 'pg_authid'), '') NOT LIKE $3
      ORDER BY u.rolname, g.rolname`,
    [adminOid, OS_ACCESS_ROLES, `${GRANT_MARKER}%`],
  );
  return result.rows;
}

export function membershipAccount(row: MembershipRow): AccountInfo {
  return {
    handle: `${row.login}:${row.role}`,
    managed: true,
    expiresAt: null,
    // A member can SET ROLE to the group, so the group's own attributes are the member's too.
    privileges: [`member of ${row.role}`, ...row.role_attributes.map((a) => `${a} (by SET ROLE ${row.role})`)],
    admin: row.admin,
  };
}
