// What verification reads from the server about a removed role, in one statement (one round trip, one snapshot): the
// role in pg_roles, its backends in pg_stat_activity and what pg_shdepend still records of it in any database.
import { type Check, check } from "../support/evidence.js";
import type { PgAdmin } from "./admin-connection.js";

/** pg_shdepend's kinds of reference to a role, as the evidence names them. */
const DEPENDENCY_KINDS: Readonly<Record<string, string>> = {
  o: "owned object(s)",
  a: "privilege(s)",
  r: "policy reference(s)",
  i: "initial privilege(s)",
};

interface Dependents {
  readonly database: string | null;
  readonly kind: string;
  readonly n: number;
}

interface Leftovers {
  readonly roles: string[];
  readonly pids: number[];
  readonly dependents: Dependents[];
}

/**
 * By name and by the oid kept at issue: a role dropped by hand keeps its backends under that oid (usename is then
 * NULL), and a role made again under the same name has another oid. shdepend is a shared catalogue, so one read sees
 * every database; dbid 0 marks a shared object (a database, a tablespace, a role membership's grantor).
 */
const LEFTOVERS = `
  WITH role AS (SELECT oid FROM pg_roles WHERE rolname = $1 OR oid = $2)
  SELECT
    ARRAY(SELECT oid::int8::text FROM role ORDER BY 1) AS roles,
    ARRAY(SELECT pid FROM pg_stat_activity
           WHERE usename = $1 OR usesysid = $2 OR usesysid IN (SELECT oid FROM role) ORDER BY 1) AS pids,
    (SELECT coalesce(json_agg(d ORDER BY d.database, d.kind), '[]'::json) FROM (
       SELECT db.datname AS database, s.deptype::text AS kind, count(*)::int AS n
         FROM pg_shdepend s LEFT JOIN pg_database db ON db.oid = s.dbid
        WHERE s.refclassid = 'pg_authid'::regclass AND (s.refobjid = $2 OR s.refobjid IN (SELECT oid FROM role))
        GROUP BY 1, 2) d) AS dependents`;

/** The catalogue, session and dependency checks for role `name` (oid `oid` when issue recorded it), read at once. */
export async function leftoverChecks(admin: PgAdmin, name: string, oid: number | null): Promise<Check[]> {
  const result = await admin.query<Leftovers>(LEFTOVERS, [name, oid]);
  const row = result.rows[0] ?? { roles: [], pids: [], dependents: [] };
  const byOid = oid === null ? "" : ` or usesysid ${oid}`;
  const dependents = row.dependents.map(
    (d) =>
      `${d.n} ${DEPENDENCY_KINDS[d.kind] ?? `dependency(ies) of type ${d.kind}`} ${d.database === null ? "among shared objects" : `in database ${d.database}`}`,
  );
  return [
    check(
      "role.absent",
      row.roles.length === 0,
      row.roles.length === 0
        ? `no role named ${name}${oid === null ? "" : ` or with oid ${oid}`} in pg_roles`
        : `role ${name} is still in pg_roles (oid ${row.roles.join(", ")})`,
    ),
    check(
      "sessions.none",
      row.pids.length === 0,
      row.pids.length === 0
        ? `no backend in pg_stat_activity with usename ${name}${byOid}`
        : `${row.pids.length} backend(s) of ${name} still open (pid ${row.pids.join(", ")})`,
    ),
    check(
      "dependencies.none",
      dependents.length === 0,
      dependents.length === 0
        ? `nothing in pg_shdepend refers to ${name}${oid === null ? "" : ` (oid ${oid})`} in any database`
        : `pg_shdepend still records for ${name}: ${dependents.join(", ")}`,
    ),
  ];
}
