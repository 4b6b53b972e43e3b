// The postgres connector against the real server: the shared contract, then what is specific to PostgreSQL roles:
// the role as made (VALID UNTIL, marker, memberships, verifier), settings errors, removal of owned objects in every
// database, sessions of an already dropped role, an unreachable server at issue and at removal, and listAccounts.
import { escapeIdentifier } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Connector, IssuedCredential } from "../connector.js";
import { AdminSecret } from "../support/admin-secret.js";
import { activeGrant, describeConnectorContract } from "../testing/contract.js";
import { connectorContext, entitlement, grantFor, testIdentity } from "../testing/target-fixture.js";
import { startTcpProxy } from "../testing/tcp-proxy.js";
import { PgAdmin } from "./admin-connection.js";
import { createPostgresConnector } from "./index.js";
import { scramVerifierMatches } from "./scram.js";
import { parsePostgresTarget } from "./settings.js";
import { PG_PORT, PG_URL, pgClient, postgresUp, randomToken, runAs, Superuser, testPrefix } from "./testing/fixture.js";

const up = await postgresUp();

const prefix = testPrefix();
const tag = randomToken(6);
const groupRead = `ephg_${tag}_read`;
const groupWrite = `ephg_${tag}_write`;
const table = `ephtab_${tag}`;
const schema = `ephs_${tag}`;
const su = new Superuser();
const connectors: Connector[] = [];

function connectorFor(settings: Record<string, unknown> = {}, id = "orders-db"): Connector {
  const connector = createPostgresConnector(
    { id, type: "postgres", settings: { url: PG_URL, prefix, ...settings } },
    connectorContext(),
  );
  connectors.push(connector);
  return connector;
}

const readSpec = entitlement("orders-db", "read", { roles: [groupRead] });
const fieldsOf = (credential: IssuedCredential) => credential.fields.reveal() as Record<string, string>;
const selectSql = `SELECT count(*) FROM ${escapeIdentifier(table)}`;

async function issue(connector: Connector, spec = readSpec) {
  const grant = grantFor(connector, spec);
  const response = await connector.issue({
    grant,
    identity: testIdentity,
    entitlement: spec,
    expiresAt: grant.expiresAt,
  });
  return { grant: activeGrant(grant, response), response, fields: fieldsOf(response.credential) };
}

if (up) {
  beforeAll(async () => {
    await su.query(`CREATE ROLE ${groupRead} NOLOGIN`);
    await su.query(`CREATE ROLE ${groupWrite} NOLOGIN`);
    await su.query(`CREATE TABLE ${table} (x int)`);
    await su.query(`GRANT SELECT ON ${table} TO ${groupRead}`);
    await su.query(`GRANT SELECT, INSERT ON ${table} TO ${groupWrite}`);
    await su.query(`CREATE SCHEMA ${schema}`);
    await su.query(`GRANT USAGE, CREATE ON SCHEMA ${schema} TO ${groupWrite}`);
  });
  afterAll(async () => {
    for (const connector of connectors) await connector.close();
    await su.dropRolesLike(prefix);
    await su.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await su.query(`DROP TABLE IF EXISTS ${table}`);
    const other = pgClient({ database: "postgres" });
    await other.connect();
    await other.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await other.end();
    await su.dropRole(groupRead);
    await su.dropRole(groupWrite);
    await su.close();
  });

  describeConnectorContract("postgres", async () => {
    const connector = connectorFor();
    return {
      connector,
      identity: testIdentity,
      entitlement: readSpec,
      makeGrant: () => grantFor(connector, readSpec),
      useCredential: async (credential) => {
        const { username, password } = fieldsOf(credential);
        return runAs(username ?? "", password ?? "", selectSql);
      },
      openSession: async (credential) => {
        const { username, password } = fieldsOf(credential);
        const client = pgClient({ user: username ?? "", password: password ?? "" });
        await client.connect();
        return {
          usable: () =>
            client.query(selectSql).then(
              () => true,
              () => false,
            ),
          close: () => client.end().catch(() => {}),
        };
      },
      cleanup: async () => {},
    };
  });
}

describe.skipIf(!up)("postgres connector", () => {
  it("makes a LOGIN role with VALID UNTIL = expiry + margin, the marker, exactly the memberships, and a SCRAM verifier", async () => {
    const connector = connectorFor({ validUntilMargin: 90, scramIterations: 16 });
    const spec = entitlement("orders-db", "rw", { roles: [groupRead, groupWrite], connectionLimit: 3 });
    const { grant, response, fields } = await issue(connector, spec);
    const role = await su.query<{
      rolcanlogin: boolean;
      until: number;
      rolconnlimit: number;
      comment: string;
      rolpassword: string;
      oid: string;
    }>(
      `SELECT rolcanlogin, extract(epoch FROM rolvaliduntil)::float8 * 1000 AS until, rolconnlimit, rolpassword,
              shobj_description(oid, 'pg_authid') AS comment, oid::int8 AS oid FROM pg_authid WHERE rolname = $1`,
      [grant.handle],
    );
    const row = role.rows[0];
    expect(grant.handle).toMatch(new RegExp(`^${prefix}[0-9a-z]+$`));
    expect(row).toMatchObject({ rolcanlogin: true, rolconnlimit: 3, comment: `ephemera grant ${grant.id}` });
    expect(row?.until).toBe(grant.expiresAt + 90_000);
    expect(row?.rolpassword).toMatch(/^SCRAM-SHA-256\$16:/);
    expect(await scramVerifierMatches(row?.rolpassword ?? "", fields.password ?? "")).toBe(true);
    expect(await su.memberships(grant.handle)).toEqual([groupRead, groupWrite].sort());
    expect(response.handleData).toEqual({ roleOid: Number(row?.oid), roles: [groupRead, groupWrite] });
    expect(response.probe?.reveal()).toBe(fields.password);
    expect(fields).toMatchObject({
      username: grant.handle,
      host: "127.0.0.1",
      port: String(PG_PORT),
      database: "test",
    });
    expect(fields.url).toBe(`postgres://${grant.handle}:${fields.password}@127.0.0.1:${PG_PORT}/test`);
    expect(Object.keys(response.credential.env.reveal()).sort()).toEqual(
      ["DATABASE_URL", "PGDATABASE", "PGHOST", "PGPASSWORD", "PGPORT", "PGUSER"].sort(),
    );
    expect(await runAs(grant.handle, fields.password ?? "", `INSERT INTO ${table} VALUES (1)`)).toBe(true);

    const later = grant.expiresAt + 600_000;
    expect(await connector.renew({ grant, identity: testIdentity, entitlement: spec, expiresAt: later })).toEqual({
      credential: null,
      handleData: {},
    });
    const renewed = await su.query<{ until: number }>(
      "SELECT extract(epoch FROM rolvaliduntil)::float8 * 1000 AS until FROM pg_roles WHERE rolname = $1",
      [grant.handle],
    );
    expect(renewed.rows[0]?.until).toBe(later + 90_000);
    await connector.revoke({ grant });
    expect(await su.roleExists(grant.handle)).toBe(false);
  });

  it("validates settings with errors naming the path and never the value", () => {
    const ctx = connectorContext();
    const make = (settings: Record<string, unknown>) => () =>
      createPostgresConnector({ id: "db", type: "postgres", settings }, ctx);
    expect(make({ url: "postgres://broker:hunter2secret@127.0.0.1/test" })).toThrow(
      /^targets\.db\.url: must not contain a password/,
    );
    try {
      make({ url: "postgres://broker:hunter2secret@127.0.0.1/test" })();
    } catch (error) {
      expect(String(error)).not.toContain("hunter2secret");
    }
    expect(make({})).toThrow("targets.db.url: must be a non-empty string");
    expect(make({ url: "mysql://broker@h/db" })).toThrow(
      "targets.db.url: must be a URL starting postgres: or postgresql://",
    );
    expect(make({ url: "postgres://h/db" })).toThrow(/targets\.db\.url: must name the admin user/);
    expect(make({ url: "postgres://b@h/db?sslmode=require" })).toThrow(
      /targets\.db\.url: must not have query parameters/,
    );
    expect(make({ url: PG_URL, prefix: "Bad-" })).toThrow(/targets\.db\.prefix: must be 1-16 characters/);
    expect(make({ url: PG_URL, validUntilMargin: -1 })).toThrow(
      /targets\.db\.validUntilMargin: must be a whole number/,
    );
    expect(make({ url: PG_URL, password: 42 })).toThrow(/targets\.db\.password: must be a string/);
    expect(make({ url: PG_URL, pasword: "x" })).toThrow(/targets\.db\.pasword: unknown setting/);
    const connector = make({ url: PG_URL })();
    const bad = (settings: Record<string, unknown>) => () =>
      connector.validateEntitlement(entitlement("db", "read", settings));
    expect(bad({})).toThrow("targets.db.entitlements.read.roles: must be a non-empty list");
    expect(bad({ roles: [] })).toThrow("targets.db.entitlements.read.roles: must be a non-empty list");
    expect(bad({ roles: ["ok", 'x"; DROP ROLE postgres; --'] })).toThrow(
      /entitlements\.read\.roles\[1\]: must be 1-63/,
    );
    expect(bad({ roles: ["a", "a"] })).toThrow(/roles: must not name a role twice/);
    expect(bad({ roles: ["a"], connectionLimit: 0 })).toThrow(/connectionLimit: must be a whole number from 1/);
    expect(bad({ roles: ["a"], table: "t" })).toThrow(/entitlements\.read\.table: unknown setting/);
    expect(bad({ roles: ["a", "b_2$-x"], connectionLimit: 5 })).not.toThrow();
  });

  it("refuses to issue for a group role that does not exist, naming it by index, and leaves nothing", async () => {
    const connector = connectorFor();
    const spec = entitlement("orders-db", "read", { roles: [groupRead, `ephg_${tag}_missing`] });
    const grant = grantFor(connector, spec);
    await expect(
      connector.issue({ grant, identity: testIdentity, entitlement: spec, expiresAt: grant.expiresAt }),
    ).rejects.toThrow("targets.orders-db.entitlements.read.roles[1]: no such role in the target");
    expect(await su.roleExists(grant.handle)).toBe(false);
  });

  it("revoke reassigns what the role owns to a NOLOGIN owner without privileges (never the admin), then drops it", async () => {
    const connector = connectorFor();
    const other = pgClient({ database: "postgres" });
    await other.connect();
    await other.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await other.query(`GRANT USAGE, CREATE ON SCHEMA ${schema} TO ${groupWrite}`);
    await other.end();
    const spec = entitlement("orders-db", "write", { roles: [groupWrite] });
    const { grant, response, fields } = await issue(connector, spec);
    for (const database of ["test", "postgres"]) {
      const client = pgClient({ user: grant.handle, password: fields.password ?? "", database });
      await client.connect();
      await client.query(`CREATE TABLE ${schema}.made_${database} (x int)`);
      // A planted SECURITY DEFINER function: reassigned to the admin it would run as the admin (a superuser here).
      await client.query(
        `CREATE FUNCTION ${schema}.whoami_${database}() RETURNS text LANGUAGE sql SECURITY DEFINER AS 'SELECT current_user::text'`,
      );
      await client.end();
    }
    await connector.revoke({ grant });
    expect((await connector.verifyRemoved({ grant, probe: response.probe ?? null })).removed).toBe(true);
    const owners = await su.query<{ owner: string }>(
      `SELECT tableowner AS owner FROM pg_tables WHERE schemaname = $1 AND tablename = 'made_test'`,
      [schema],
    );
    expect(owners.rows).toEqual([{ owner: "ephemera_orphan_owner" }]);
    const planted = await su.query<{ who: string }>(`SELECT ${schema}.whoami_test() AS who`);
    expect(planted.rows).toEqual([{ who: "ephemera_orphan_owner" }]);
    const elsewhere = pgClient({ database: "postgres" });
    await elsewhere.connect();
    const there = await elsewhere.query(`SELECT tableowner FROM pg_tables WHERE schemaname = $1`, [schema]);
    await elsewhere.end();
    expect(there.rows).toEqual([{ tableowner: "ephemera_orphan_owner" }]);
  });

  it("ends the sessions of a role someone already dropped, found by the oid kept at issue", async () => {
    const connector = connectorFor();
    const { grant, response, fields } = await issue(connector);
    const session = pgClient({ user: grant.handle, password: fields.password ?? "" });
    await session.connect();
    await su.query(`DROP ROLE ${escapeIdentifier(grant.handle)}`);
    expect(await session.query("SELECT 1").then(() => true)).toBe(true);
    const before = await connector.verifyRemoved({ grant, probe: response.probe ?? null });
    expect(before.removed).toBe(false);
    expect(before.evidence.checks.find((c) => c.check === "sessions.none")).toMatchObject({ passed: false });
    await connector.revoke({ grant });
    expect(
      await session.query("SELECT 1").then(
        () => true,
        () => false,
      ),
    ).toBe(false);
    const after = await connector.verifyRemoved({ grant, probe: response.probe ?? null });
    expect(after.removed).toBe(true);
    expect(after.evidence.checks).toEqual([
      { check: "role.absent", passed: true, observed: expect.stringContaining(`no role named ${grant.handle}`) },
      { check: "sessions.none", passed: true, observed: expect.stringContaining("no backend") },
      { check: "dependencies.none", passed: true, observed: expect.stringContaining("nothing in pg_shdepend") },
      {
        check: "login.refused",
        passed: true,
        observed: `a login with the issued credential was refused: 28000 role "${grant.handle}" does not exist`,
      },
    ]);
    await session.end().catch(() => {});
  });

  it("verifyRemoved refuses while the role owns an object or holds a privilege, naming the database and the kind", async () => {
    const connector = connectorFor();
    const { grant, response, fields } = await issue(
      connector,
      entitlement("orders-db", "write", { roles: [groupWrite] }),
    );
    const client = pgClient({ user: grant.handle, password: fields.password ?? "" });
    await client.connect();
    await client.query(`CREATE TABLE ${schema}.owned_${tag} (x int)`);
    await client.end();
    await su.query(`GRANT SELECT ON ${table} TO ${escapeIdentifier(grant.handle)}`);
    const before = await connector.verifyRemoved({ grant, probe: response.probe ?? null });
    expect(before.removed).toBe(false);
    const dependencies = before.evidence.checks.find((c) => c.check === "dependencies.none");
    expect(dependencies).toMatchObject({ passed: false });
    expect(dependencies?.observed).toMatch(/\d+ owned object\(s\) in database test/);
    expect(dependencies?.observed).toMatch(/\d+ privilege\(s\) in database test/);
    await connector.revoke({ grant });
    const after = await connector.verifyRemoved({ grant, probe: response.probe ?? null });
    expect(after.removed).toBe(true);
    expect(after.evidence.checks.find((c) => c.check === "dependencies.none")).toMatchObject({ passed: true });
  });

  it("verifyRemoved refuses when a role of the same name can log in again, though the probe runs beside the reads", async () => {
    const connector = connectorFor();
    const { grant, response } = await issue(connector);
    await connector.revoke({ grant });
    // Made again by hand after the removal: trust authentication on 127.0.0.1 accepts any password for it.
    await su.query(`CREATE ROLE ${escapeIdentifier(grant.handle)} LOGIN`);
    const result = await connector.verifyRemoved({ grant, probe: response.probe ?? null });
    expect(result.removed).toBe(false);
    expect(result.evidence.checks.find((c) => c.check === "login.refused")).toMatchObject({
      passed: false,
      observed: "a login with the issued credential succeeded",
    });
    expect(result.evidence.checks.find((c) => c.check === "role.absent")).toMatchObject({ passed: false });
    await su.dropRole(grant.handle);
  });

  it("revoke commits NOLOGIN, membership removal and DROP ROLE together, and ends a session that logs in meanwhile", async () => {
    const connector = connectorFor();
    const { grant, response, fields } = await issue(connector);
    const sessions = await Promise.all(
      [0, 1, 2].map(async () => {
        const client = pgClient({ user: grant.handle, password: fields.password ?? "" });
        await client.connect();
        return client;
      }),
    );
    const revoked = await connector.revoke({ grant });
    expect(revoked.removed).toEqual([`role ${grant.handle}`]);
    expect(revoked.sessionsEnded?.count).toBe(3);
    for (const client of sessions) {
      expect(
        await client.query("SELECT 1").then(
          () => true,
          () => false,
        ),
      ).toBe(false);
      await client.end().catch(() => {});
    }
    expect(await su.roleExists(grant.handle)).toBe(false);
    const left = await su.query("SELECT 1 FROM pg_stat_activity WHERE usesysid = $1", [grant.handleData.roleOid]);
    expect(left.rowCount).toBe(0);
    expect((await connector.verifyRemoved({ grant, probe: response.probe ?? null })).removed).toBe(true);
  });

  it("refuses to remove roles it did not make: other prefixes, or a prefixed role without this grant's marker", async () => {
    const connector = connectorFor();
    await expect(connector.removeAccount("postgres")).rejects.toThrow(/not a role this target makes/);
    const impostor = `${prefix}${randomToken(20)}`;
    await su.query(`CREATE ROLE ${impostor} LOGIN`);
    await expect(connector.removeAccount(impostor)).rejects.toThrow(/does not carry this grant's marker/);
    expect(await su.roleExists(impostor)).toBe(true);
    const listed = (await connector.listAccounts()).find((a) => a.handle === impostor);
    expect(listed).toMatchObject({ managed: false });
  });

  it("listAccounts reports an unmanaged privileged account, superusers, and the broker's own login", async () => {
    const connector = connectorFor();
    const powerful = `${prefix}adm_${randomToken(4)}`;
    const viaGroup = `${prefix}via_${randomToken(4)}`;
    await su.query(`CREATE ROLE ${powerful} LOGIN CREATEROLE CREATEDB BYPASSRLS IN ROLE ${groupRead}`);
    await su.query(`CREATE ROLE ${viaGroup} LOGIN IN ROLE pg_execute_server_program`);
    const accounts = await connector.listAccounts();
    expect(accounts.find((a) => a.handle === powerful)).toEqual({
      handle: powerful,
      managed: false,
      expiresAt: null,
      privileges: ["createrole", "createdb", "bypassrls", `member of ${groupRead}`],
      admin: true,
    });
    expect(accounts.find((a) => a.handle === viaGroup)).toMatchObject({
      admin: true,
      privileges: ["member of pg_execute_server_program"],
    });
    expect(accounts.find((a) => a.handle === "postgres")).toMatchObject({
      broker: true,
      admin: true,
      managed: false,
      privileges: expect.arrayContaining(["superuser", "createrole", "createdb", "replication", "bypassrls"]),
    });
    const { grant } = await issue(connector);
    expect(accounts.some((a) => a.handle.startsWith("pg_"))).toBe(false);
    expect((await connector.listAccounts()).find((a) => a.handle === grant.handle)).toEqual({
      handle: grant.handle,
      managed: true,
      expiresAt: grant.expiresAt + 60_000,
      privileges: [`member of ${groupRead}`],
      admin: false,
    });
    await connector.revoke({ grant });
  });
});

describe.skipIf(!up)("postgres connector with the server unreachable", () => {
  it("at issue: rejects and leaves nothing; restored: issues again", async () => {
    const proxy = await startTcpProxy(PG_PORT);
    try {
      const connector = connectorFor({ url: `postgres://postgres@127.0.0.1:${proxy.port}/test` });
      expect(await connector.healthy()).toBe(true);
      await proxy.cut();
      expect(await connector.healthy()).toBe(false);
      const grant = grantFor(connector, readSpec);
      await expect(
        connector.issue({ grant, identity: testIdentity, entitlement: readSpec, expiresAt: grant.expiresAt }),
      ).rejects.toThrow();
      expect(await su.roleExists(grant.handle)).toBe(false);
      await proxy.restore();
      const { grant: again } = await issue(connector);
      expect(await su.roleExists(again.handle)).toBe(true);
      await connector.revoke({ grant: again });
    } finally {
      await proxy.close();
    }
  });

  it("at removal: revoke and the login probe fail while cut; restored, revoke and verifyRemoved succeed", async () => {
    const proxy = await startTcpProxy(PG_PORT);
    try {
      const connector = connectorFor({ url: `postgres://postgres@127.0.0.1:${proxy.port}/test` });
      const { grant, response, fields } = await issue(connector);
      const session = pgClient({ user: grant.handle, password: fields.password ?? "" });
      await session.connect();
      await proxy.cut();
      await expect(connector.revoke({ grant })).rejects.toThrow();
      await expect(connector.verifyRemoved({ grant, probe: response.probe ?? null })).rejects.toThrow();
      expect(await su.roleExists(grant.handle)).toBe(true);
      await proxy.restore();
      await connector.revoke({ grant });
      const result = await connector.verifyRemoved({ grant, probe: response.probe ?? null });
      expect(result.removed).toBe(true);
      expect(
        await session.query("SELECT 1").then(
          () => true,
          () => false,
        ),
      ).toBe(false);
      await session.end().catch(() => {});
    } finally {
      await proxy.close();
    }
  });

  it("the login probe reports an unreachable server as 'could not be tried', never as refused", async () => {
    const proxy = await startTcpProxy(PG_PORT);
    const settings = parsePostgresTarget("db", { url: `postgres://postgres@127.0.0.1:${proxy.port}/test` });
    const ctx = connectorContext();
    const secret = new AdminSecret({
      targetId: "db",
      store: ctx.store,
      sealer: ctx.sealer,
      clock: ctx.clock,
      configured: "",
    });
    const admin = new PgAdmin({ targetId: "db", settings, secret, logger: ctx.logger });
    try {
      expect(await admin.tryLogin(`${prefix}nobody0000`, "x")).toEqual({
        accepted: false,
        refusal: `28000 role "${prefix}nobody0000" does not exist`,
      });
      await proxy.cut();
      expect(await admin.tryLogin(`${prefix}nobody0000`, "x")).toMatchObject({ accepted: null });
    } finally {
      await admin.close();
      await proxy.close();
    }
  });
});
