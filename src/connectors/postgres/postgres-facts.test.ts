// Measured facts about PostgreSQL (15 here) that decide how the connectors remove access. Each is a test so that a
// server upgrade that changes one is noticed: they are the reasons for the removal order in role-removal.ts and for
// ending sessions in elevation-connector.ts.

import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scramVerifier } from "./scram.js";
import { pgClient, postgresUp, randomToken, Superuser } from "./testing/fixture.js";

const up = await postgresUp();
const tag = randomToken(6);
const prefix = `eph_f${tag}_`;
const group = `${prefix}group`;
const table = `${prefix}table`;
const su = new Superuser();
const open: Client[] = [];

async function session(user: string, password = "pw"): Promise<Client> {
  const client = pgClient({ user, password });
  await client.connect();
  open.push(client);
  return client;
}
const works = (client: Client, sql = `SELECT count(*) FROM ${table}`) =>
  client.query(sql).then(
    () => "ok",
    (error: { code?: string }) => `refused ${error.code}`,
  );
async function login(user: string): Promise<string> {
  const client = pgClient({ user, password: "pw" });
  try {
    await client.connect();
    return "accepted";
  } catch (error) {
    return `${(error as { code?: string }).code} ${(error as Error).message}`;
  } finally {
    await client.end().catch(() => {});
  }
}
async function newLogin(label: string): Promise<string> {
  const name = `${prefix}${label}`;
  await su.query(`CREATE ROLE ${name} LOGIN PASSWORD 'pw' IN ROLE ${group}`);
  return name;
}
const oidOf = async (name: string) =>
  Number(
    (await su.query<{ oid: string }>("SELECT oid::int8 AS oid FROM pg_roles WHERE rolname = $1", [name])).rows[0]?.oid,
  );

describe.skipIf(!up)("measured PostgreSQL facts", () => {
  beforeAll(async () => {
    await su.query(`CREATE ROLE ${group} NOLOGIN`);
    await su.query(`CREATE TABLE ${table} (x int)`);
    await su.query(`GRANT SELECT ON ${table} TO ${group}`);
  });
  afterAll(async () => {
    for (const client of open) await client.end().catch(() => {});
    await su.query(`DROP TABLE IF EXISTS ${table}`);
    await su.dropRolesLike(prefix);
    await su.close();
  });

  it("an open session survives VALID UNTIL in the past; under trust auth even a new login is accepted", async () => {
    const name = await newLogin("expired");
    const s = await session(name);
    await su.query(`ALTER ROLE ${name} VALID UNTIL '2000-01-01'`);
    expect(await works(s)).toBe("ok");
    // VALID UNTIL is checked only by password authentication (scram-sha-256, md5, password), not by trust or peer.
    expect(await login(name)).toBe("accepted");
  });

  it("an open session survives NOLOGIN, which refuses new logins", async () => {
    const name = await newLogin("nologin");
    const s = await session(name);
    await su.query(`ALTER ROLE ${name} NOLOGIN`);
    expect(await works(s)).toBe("ok");
    expect(await login(name)).toBe(`28000 role "${name}" is not permitted to log in`);
  });

  it("an open session survives DROP ROLE, and pg_stat_activity then has usename NULL: only usesysid finds it", async () => {
    const name = await newLogin("dropped");
    const oid = await oidOf(name);
    const s = await session(name);
    const elevated = await session(name);
    await elevated.query(`SET ROLE ${group}`);
    await su.query(`DROP ROLE ${name}`);
    expect(await works(s, "SELECT 1")).toBe("ok");
    // The membership went with the role, but a session that had done SET ROLE still acts as the group.
    expect(await works(s)).toBe("refused 42501");
    expect(await works(elevated)).toBe("ok");
    const seen = await su.query<{ usename: string | null }>(
      "SELECT usename FROM pg_stat_activity WHERE usesysid = $1",
      [oid],
    );
    expect(seen.rows).toEqual([{ usename: null }, { usename: null }]);
    expect((await su.query("SELECT 1 FROM pg_stat_activity WHERE usename = $1", [name])).rowCount).toBe(0);
    expect(await login(name)).toBe(`28000 role "${name}" does not exist`);

    // pg_terminate_backend by usesysid ends them; the backends leave pg_stat_activity shortly after, not at once.
    await su.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usesysid = $1", [oid]);
    await expect
      .poll(async () => (await su.query("SELECT 1 FROM pg_stat_activity WHERE usesysid = $1", [oid])).rowCount)
      .toBe(0);
    // The client sees 57P01 (terminating connection due to administrator command) or just the dropped socket.
    expect(await works(elevated, "SELECT 1")).toMatch(/^refused (57P01|undefined)$/);
  });

  it("after REVOKE, inherited privileges end at once but a session that did SET ROLE keeps the group's", async () => {
    const name = await newLogin("elevated");
    const inheriting = await session(name);
    const setRole = await session(name);
    await setRole.query(`SET ROLE ${group}`);
    await su.query(`REVOKE ${group} FROM ${name}`);
    expect(await works(inheriting)).toBe("refused 42501");
    expect(await works(setRole)).toBe("ok");
    expect((await setRole.query("SELECT current_user, session_user")).rows).toEqual([
      { current_user: group, session_user: name },
    ]);
    // pg_stat_activity names only the login: nothing there tells which session took the group by SET ROLE.
    const seen = await su.query<{ usename: string }>(
      "SELECT usename FROM pg_stat_activity WHERE usesysid = $1 ORDER BY pid",
      [await oidOf(name)],
    );
    expect(seen.rows.map((r) => r.usename)).toEqual([name, name]);
    const columns = await su.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'pg_stat_activity'",
    );
    expect(columns.rows.map((r) => r.column_name)).not.toContain("current_user");
  });

  it("one query on pg_shdepend (a shared catalog) sees what a role owns in every database", async () => {
    const name = await newLogin("owner");
    await su.query(`GRANT CREATE ON SCHEMA public TO ${name}`);
    const other = pgClient({ database: "postgres" });
    await other.connect();
    open.push(other);
    await other.query(`GRANT CREATE ON SCHEMA public TO ${name}`);
    const here = await session(name);
    await here.query(`CREATE TABLE ${prefix}owned (x int)`);
    const there = pgClient({ user: name, password: "pw", database: "postgres" });
    await there.connect();
    open.push(there);
    await there.query(`CREATE TABLE ${prefix}owned (x int)`);
    const dbs = await su.query<{ datname: string }>(
      `SELECT DISTINCT d.datname FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
        WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = $1 ORDER BY 1`,
      [await oidOf(name)],
    );
    expect(dbs.rows.map((r) => r.datname)).toEqual(["postgres", "test"]);
    await there.query(`DROP TABLE ${prefix}owned`);
    await other.query(`REVOKE CREATE ON SCHEMA public FROM ${name}`);
    await here.query(`DROP TABLE ${prefix}owned`);
    await su.query(`REVOKE CREATE ON SCHEMA public FROM ${name}`);
  });

  it("direct table GRANTs from 8 connections collide ('tuple concurrently updated'); group memberships do not", async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => session("postgres", "")));
    const outcome = { grant: 0, member: 0 };
    for (const mode of ["grant", "member"] as const) {
      for (let round = 0; round < 4; round++) {
        const names = clients.map((_, i) => `${prefix}c${mode}${round}_${i}`);
        for (const name of names) await su.query(`CREATE ROLE ${name}`);
        const results = await Promise.allSettled(
          clients.map((c, i) =>
            c.query(mode === "grant" ? `GRANT SELECT ON ${table} TO ${names[i]}` : `GRANT ${group} TO ${names[i]}`),
          ),
        );
        for (const r of results) {
          if (r.status === "rejected") {
            expect((r.reason as Error).message).toBe("tuple concurrently updated");
            outcome[mode]++;
          }
        }
      }
    }
    console.info(`concurrent GRANT failures out of 32: table grants ${outcome.grant}, memberships ${outcome.member}`);
    expect(outcome.member).toBe(0);
    expect(outcome.grant).toBeGreaterThan(0);
  });

  it("a SCRAM verifier given as PASSWORD is stored as is, yet CREATE ROLE still pays PBKDF2 for its iterations", async () => {
    // PostgreSQL refuses an empty password by checking "" against the verifier: one PBKDF2 at the verifier's count.
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const timings: Record<number, number[]> = { 4096: [], 16: [] };
    for (let i = 0; i < 12; i++) {
      for (const iterations of [4096, 16]) {
        const verifier = await scramVerifier(randomToken(32), iterations);
        const name = `${prefix}s${iterations}_${i}`;
        const started = performance.now();
        await su.query(`CREATE ROLE ${name} LOGIN PASSWORD '${verifier}'`);
        timings[iterations]?.push(performance.now() - started);
        const stored = await su.query<{ rolpassword: string }>("SELECT rolpassword FROM pg_authid WHERE rolname = $1", [
          name,
        ]);
        expect(stored.rows[0]?.rolpassword).toBe(verifier);
      }
    }
    const slow = median(timings[4096] ?? []);
    const fast = median(timings[16] ?? []);
    console.info(
      `CREATE ROLE with a SCRAM verifier, median ms: 4096 iterations ${slow.toFixed(2)}, 16 iterations ${fast.toFixed(2)}`,
    );
    expect(slow).toBeGreaterThan(fast);
  });
});
