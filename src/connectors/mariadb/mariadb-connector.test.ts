// The mariadb connector against the real server: the shared contract, then what is specific to MariaDB — exact grants,
// wildcard-safe database names, credential shape, discovery of privileged accounts, and outages at issue and removal.
import { escapeId, type RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomToken } from "../../support/ids.js";
import { activeGrant, describeConnectorContract } from "../testing/contract.js";
import { connectorContext, entitlement, testIdentity } from "../testing/target-fixture.js";
import { startTcpProxy } from "../testing/tcp-proxy.js";
import { createMariadbConnector } from "./index.js";
import {
  accountsWithPrefix,
  canRead,
  contractSubject,
  createFullAdmin,
  dropAccounts,
  loginWith,
  type MariadbFixture,
  mariadbAvailable,
  mariadbFixture,
  PORT,
  TARGET_ID,
} from "./testing/fixture.js";

const up = await mariadbAvailable();

if (up) describeConnectorContract("mariadb", async () => contractSubject(await mariadbFixture()));

describe.skipIf(!up)("mariadb connector", () => {
  let f: MariadbFixture;
  beforeAll(async () => {
    f = await mariadbFixture();
  });
  afterAll(async () => {
    await f?.cleanup();
  });

  async function issue(spec = f.entitlement, connector = f.connector) {
    const grant = f.makeGrant(spec);
    const response = await connector.issue({
      grant,
      identity: testIdentity,
      entitlement: spec,
      expiresAt: grant.expiresAt,
    });
    return { grant: activeGrant(grant, response), response };
  }

  async function grantsOf(user: string): Promise<string[]> {
    const [rows] = await f.root.query<RowDataPacket[]>("SHOW GRANTS FOR ?@'%'", [user]);
    return rows.map((r) => String(Object.values(r)[0]));
  }

  it("makes one account '<prefix><grant>'@'%' with exactly the entitlement's privileges, marked by the prefix only", async () => {
    const { grant, response } = await issue();
    expect(grant.handle.startsWith(f.prefix)).toBe(true);
    expect(await accountsWithPrefix(f.root, f.prefix)).toEqual([`${grant.handle}@%`]);
    const grants = await grantsOf(grant.handle);
    expect(grants).toHaveLength(2);
    expect(grants[0]).toMatch(/^GRANT USAGE ON \*\.\* TO `[a-z0-9_]+`@`%` IDENTIFIED BY PASSWORD '\*[0-9A-F]{40}'$/);
    expect(grants[1]).toBe(
      `GRANT SELECT, INSERT ON \`${f.database.replace(/_/g, "\\_")}\`.* TO \`${grant.handle}\`@\`%\``,
    );
    expect(response.handleData).toEqual({
      accountHosts: ["%"],
      grantedOn: `\`${f.database.replace(/_/g, "\\_")}\`.*`,
      privileges: ["SELECT", "INSERT"],
    });
    const fields = response.credential.fields.reveal();
    const password = response.probe!.reveal();
    expect(fields).toEqual({
      username: grant.handle,
      password,
      host: "127.0.0.1",
      port: String(PORT),
      database: f.database,
      url: `mysql://${grant.handle}:${password}@127.0.0.1:${PORT}/${f.database}`,
    });
    expect(response.credential.env.reveal()).toEqual({
      MYSQL_HOST: "127.0.0.1",
      MYSQL_TCP_PORT: String(PORT),
      MYSQL_USER: grant.handle,
      MYSQL_PWD: password,
      MYSQL_DATABASE: f.database,
      DATABASE_URL: fields.url,
    });
    const session = await loginWith(response.credential);
    await session.query("INSERT INTO items VALUES (?, 'x')", [Math.floor(Math.random() * 1e9) + 10]);
    await expect(session.query("DELETE FROM items")).rejects.toMatchObject({ code: "ER_TABLEACCESS_DENIED_ERROR" });
    await expect(session.query("SELECT COUNT(*) FROM mysql.user")).rejects.toMatchObject({
      code: "ER_TABLEACCESS_DENIED_ERROR",
    });
    session.destroy();
    await f.connector.revoke({ grant });
  });

  it("escapes _ in the database name, so a database-level grant never opens a look-alike database", async () => {
    // `etdb_abc` as a pattern would match `etdbXabc`; the look-alike must stay closed.
    const lookalike = f.database.replace("etdb_", "etdbX");
    await f.root.query(`CREATE DATABASE ${escapeId(lookalike)}`);
    await f.root.query(`CREATE TABLE ${escapeId(lookalike)}.secret (a INT)`);
    try {
      const { grant, response } = await issue();
      const session = await loginWith(response.credential, false);
      await expect(session.query(`SELECT * FROM ${escapeId(lookalike)}.secret`)).rejects.toMatchObject({
        code: "ER_TABLEACCESS_DENIED_ERROR",
      });
      await session.query(`SELECT * FROM ${escapeId(f.database)}.items`);
      session.destroy();
      await f.connector.revoke({ grant });
    } finally {
      await f.root.query(`DROP DATABASE ${escapeId(lookalike)}`);
    }
  });

  it("grants on one table with scope table, and ALL PRIVILEGES there never includes GRANT OPTION", async () => {
    await f.root.query(`CREATE TABLE IF NOT EXISTS ${escapeId(f.database)}.other (a INT)`);
    const spec = entitlement(TARGET_ID, "items-all", { database: f.database, table: "items", privileges: ["all"] });
    const { grant, response } = await issue(spec);
    expect((await grantsOf(grant.handle))[1]).toBe(
      `GRANT ALL PRIVILEGES ON \`${f.database}\`.\`items\` TO \`${grant.handle}\`@\`%\``,
    );
    const session = await loginWith(response.credential);
    await session.query("SELECT * FROM items");
    await expect(session.query("SELECT * FROM other")).rejects.toMatchObject({ code: "ER_TABLEACCESS_DENIED_ERROR" });
    await expect(session.query(`GRANT SELECT ON items TO '${grant.handle}'@'%'`)).rejects.toBeTruthy();
    session.destroy();
    await f.connector.revoke({ grant });
  });

  it("a table-level grant on a missing table fails at issue and leaves nothing behind", async () => {
    const spec = entitlement(TARGET_ID, "missing", { database: f.database, table: "nope", privileges: ["SELECT"] });
    const before = await accountsWithPrefix(f.root, f.prefix);
    const grant = f.makeGrant(spec);
    await expect(
      f.connector.issue({ grant, identity: testIdentity, entitlement: spec, expiresAt: grant.expiresAt }),
    ).rejects.toThrow(/targets\.orders-db: GRANT failed with ER_NO_SUCH_TABLE \(1146\)/);
    expect(await accountsWithPrefix(f.root, f.prefix)).toEqual(before);
  });

  it("refuses settings outside the allow-list with the config path, never the value", () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ database: "x", privileges: ["GRANT OPTION"] }, /read\.privileges\[0\]: must be one of SELECT/],
      [{ database: "x", privileges: ["SUPER"] }, /read\.privileges\[0\]: must be one of/],
      [{ database: "x", privileges: ["SELECT; DROP"] }, /read\.privileges\[0\]: must be one of/],
      [{ database: "x", privileges: ["ALL", "SELECT"] }, /read\.privileges: ALL PRIVILEGES must be the only entry/],
      [{ database: "x", privileges: ["SELECT", "select"] }, /read\.privileges\[1\]: is listed twice/],
      [{ database: "x", privileges: [] }, /read\.privileges: must be a non-empty list/],
      [{ database: "mysql", privileges: ["SELECT"] }, /read\.database: must not be a system schema/],
      [{ database: "a`b", privileges: ["SELECT"] }, /read\.database: must be 1-63 characters/],
      [{ database: "x", table: "t", scope: "database", privileges: ["SELECT"] }, /read\.table: must be absent/],
      [{ privileges: ["SELECT"] }, /read\.database: must be a non-empty string/],
      [{ scope: "global", privileges: ["INSERT"] }, /read\.privileges\[0\]: must be one of SHOW DATABASES, SHOW VIEW/],
      [{ scope: "global", privileges: ["ALL PRIVILEGES"] }, /read\.privileges\[0\]: must be one of/],
      [
        { scope: "global", database: "x", privileges: ["SHOW DATABASES"] },
        /read\.database: must be absent when scope is global/,
      ],
      [{ scope: "server", privileges: ["SELECT"] }, /read\.scope: must be database, table or global/],
      [{ database: "x", privileges: ["SELECT"], grant: "ALL" }, /read\.grant: unknown setting/],
    ];
    for (const [settings, message] of bad) {
      expect(() => f.connector.validateEntitlement(entitlement(TARGET_ID, "read", settings))).toThrow(message);
    }
    expect(() =>
      f.connector.validateEntitlement(
        entitlement(TARGET_ID, "read", { scope: "global", privileges: ["show databases"] }),
      ),
    ).not.toThrow();

    const ctx = connectorContext();
    const target = (settings: Record<string, unknown>) => () =>
      createMariadbConnector({ id: "db", type: "mariadb", settings }, ctx);
    expect(target({ url: "mysql://broker:hunter2@h/x" })).toThrow(/^targets\.db\.url: must not carry a password/);
    expect(target({ url: "mysql://broker:hunter2@h/x" })).not.toThrow(/hunter2/);
    expect(target({ url: "postgres://broker@h" })).toThrow(
      /targets\.db\.url: must be a URL starting mysql: or mariadb:/,
    );
    expect(target({ url: "mysql://h:3306" })).toThrow(/targets\.db\.url: must name the admin user/);
    expect(target({ url: "mysql://b@h", prefix: "Bad-" })).toThrow(/targets\.db\.prefix: must be 1-16/);
    expect(target({ url: "mysql://b@h", accountHost: "x' OR '1" })).toThrow(/targets\.db\.accountHost: must be 1-60/);
    expect(target({ url: "mysql://b@h", pasword: "s3cret" })).toThrow(/targets\.db\.pasword: unknown setting/);
    expect(target({ url: "mysql://b@h", password: 42 })).toThrow(/targets\.db\.password: must be a string/);
  });

  it("never touches an account outside its prefix", async () => {
    await expect(f.connector.removeAccount("root")).rejects.toThrow(/is not an account this broker makes/);
    await expect(f.connector.removeAccount(`${f.prefix}x' OR '1`)).rejects.toThrow(/is not an account/);
    const grant = { ...f.makeGrant(), handle: "root" };
    await expect(f.connector.revoke({ grant })).rejects.toThrow(/is not an account this broker makes/);
  });

  it("lists an unmanaged privileged account as admin with MariaDB's words, the broker's login, and its own accounts", async () => {
    const root = f.root;
    const boss = await createFullAdmin(root, "etboss");
    const superUser = `etsuper_${randomToken(6)}`;
    const reader = `etread_${randomToken(6)}`;
    await root.query("CREATE USER ?@'10.0.%' IDENTIFIED BY 'x'", [superUser]);
    await root.query("GRANT SUPER, PROCESS ON *.* TO ?@'10.0.%'", [superUser]);
    await root.query("CREATE USER ?@'%' IDENTIFIED BY 'x'", [reader]);
    await root.query(`GRANT SELECT ON ${escapeId(f.database)}.* TO ?@'%'`, [reader]);
    const { grant } = await issue();
    try {
      const accounts = await f.connector.listAccounts();
      const byHandle = new Map(accounts.map((a) => [a.handle, a]));
      expect(byHandle.get(`${boss.user}@%`)).toEqual({
        handle: `${boss.user}@%`,
        managed: false,
        expiresAt: null,
        privileges: ["global: ALL PRIVILEGES WITH GRANT OPTION"],
        admin: true,
      });
      expect(byHandle.get(`${superUser}@10.0.%`)).toMatchObject({
        managed: false,
        admin: true,
        privileges: ["global: PROCESS, SUPER"],
      });
      expect(byHandle.get(`${reader}@%`)).toMatchObject({
        managed: false,
        admin: false,
        privileges: [`\`${f.database}\`.*: SELECT`],
      });
      expect(byHandle.get(`${f.admin.user}@%`)).toMatchObject({
        managed: false,
        admin: true,
        broker: true,
        privileges: [
          "global: CONNECTION ADMIN, CREATE USER, PROCESS",
          "`mysql`.*: SELECT",
          `\`${f.database.replace(/_/g, "\\_")}\`.*: ALL PRIVILEGES WITH GRANT OPTION`.replace(
            "ALL PRIVILEGES",
            "ALTER, ALTER ROUTINE, CREATE, CREATE ROUTINE, CREATE TEMPORARY TABLES, CREATE VIEW, DELETE, DELETE HISTORY, DROP, EVENT, EXECUTE, INDEX, INSERT, LOCK TABLES, REFERENCES, SELECT, SHOW VIEW, TRIGGER, UPDATE",
          ),
        ],
      });
      expect(byHandle.get(grant.handle)).toEqual({
        handle: grant.handle,
        managed: true,
        expiresAt: null,
        privileges: [`\`${f.database.replace(/_/g, "\\_")}\`.*: INSERT, SELECT`],
        admin: false,
      });
      expect(byHandle.get("root@127.0.0.1")).toMatchObject({ admin: true, managed: false });
      expect(accounts.filter((a) => a.broker)).toHaveLength(1);
    } finally {
      await f.connector.revoke({ grant });
      await dropAccounts(root, [boss.user, superUser, reader]);
    }
  });

  it("issues and removes 8 grants at once on a pool of 4 without a collision", async () => {
    const issued = await Promise.all(Array.from({ length: 8 }, () => issue()));
    expect(new Set((await accountsWithPrefix(f.root, f.prefix)).filter((a) => a.endsWith("@%"))).size).toBe(8);
    for (const { response } of issued) expect(await canRead(response.credential)).toBe(true);
    await Promise.all(issued.map(({ grant }) => f.connector.revoke({ grant })));
    const proofs = await Promise.all(
      issued.map(({ grant, response }) => f.connector.verifyRemoved({ grant, probe: response.probe ?? null })),
    );
    expect(proofs.every((p) => p.removed)).toBe(true);
    expect(await accountsWithPrefix(f.root, f.prefix)).toEqual([]);
  });

  it("renew changes nothing downstream and hands out no new credential", async () => {
    const { grant, response } = await issue();
    const renewed = await f.connector.renew({
      grant,
      identity: testIdentity,
      entitlement: f.entitlement,
      expiresAt: grant.expiresAt + 60_000,
    });
    expect(renewed).toEqual({ credential: null, handleData: {} });
    expect(await canRead(response.credential)).toBe(true);
    await f.connector.revoke({ grant });
  });

  it("healthy is a cheap ping and false when the target is down, never a throw", async () => {
    expect(await f.connector.healthy()).toBe(true);
    const down = f.connectorWith({ url: `mysql://${f.admin.user}@127.0.0.1:1`, connectTimeoutSeconds: 1 });
    expect(await down.healthy()).toBe(false);
  });
});

describe.skipIf(!up)("mariadb connector when the target is unreachable", () => {
  it("issue rejects and leaves nothing; revoke rejects during the outage and succeeds, proven, after it", async () => {
    const proxy = await startTcpProxy(PORT);
    const f = await mariadbFixture({ port: proxy.port });
    try {
      const connector = f.connectorWith({ connectTimeoutSeconds: 2 });
      await proxy.cut();
      const lost = f.makeGrant();
      await expect(
        connector.issue({ grant: lost, identity: testIdentity, entitlement: f.entitlement, expiresAt: lost.expiresAt }),
      ).rejects.toThrow(/^targets\.orders-db: .* failed with (ECONNREFUSED|ECONNRESET|PROTOCOL_CONNECTION_LOST)/);
      expect(await accountsWithPrefix(f.root, f.prefix)).toEqual([]);
      expect(await connector.healthy()).toBe(false);

      await proxy.restore();
      const grant = f.makeGrant();
      const response = await connector.issue({
        grant,
        identity: testIdentity,
        entitlement: f.entitlement,
        expiresAt: grant.expiresAt,
      });
      const active = activeGrant(grant, response);
      await proxy.cut();
      await expect(connector.revoke({ grant: active })).rejects.toThrow(/^targets\.orders-db: /);
      const blind = await connector.verifyRemoved({ grant: active, probe: response.probe ?? null });
      expect(blind.removed).toBe(false);
      expect(blind.evidence.checks.every((c) => !c.passed)).toBe(true);
      expect(await accountsWithPrefix(f.root, f.prefix)).toEqual([`${grant.handle}@%`]);

      await proxy.restore();
      await connector.revoke({ grant: active });
      const proven = await connector.verifyRemoved({ grant: active, probe: response.probe ?? null });
      expect(proven.removed).toBe(true);
      expect(proven.evidence.checks.map((c) => c.check)).toEqual([
        "mariadb.account_absent",
        "mariadb.no_session",
        "login.refused",
      ]);
      expect(proven.evidence.checks[2]?.observed).toMatch(
        /refused: ER_ACCESS_DENIED_(NO_PASSWORD_)?ERROR \((1045|1698)\)/,
      );
      expect(await accountsWithPrefix(f.root, f.prefix)).toEqual([]);
    } finally {
      await proxy.close();
      await f.cleanup();
    }
  });
});
