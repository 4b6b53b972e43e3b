// MariaDB connector benchmark: broker-path issue and proven removal beside the raw statements an operator would type
// for the same account, plus removal while the account holds an open session (the kill path).
import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import { type Connection, createConnection, escapeId, type RowDataPacket } from "mysql2/promise";
import type { Connector, EntitlementSpec, IssuedCredential } from "../../src/connectors/connector.js";
import { createMariadbConnector } from "../../src/connectors/mariadb/index.js";
import { randomToken } from "../../src/support/ids.js";
import { benchContext, benchIdentity, expectRemoved, since, timedIssue, timedRemoval } from "./context.js";
import type { ConnectorBench } from "./types.js";

const TARGET = "bench-mariadb";

/** The server to measure: `EPHEMERA_BENCH_MARIADB_URL` (admin login, no password in it) and `…_PASSWORD`. */
const URL_SETTING = process.env.EPHEMERA_BENCH_MARIADB_URL ?? "mysql://root@127.0.0.1:3306";
const PASSWORD = process.env.EPHEMERA_BENCH_MARIADB_PASSWORD ?? "";

const identity = benchIdentity();

/** A session of the issued account, held open across removal (the case that needs KILL). */
async function sessionOf(credential: IssuedCredential): Promise<Connection> {
  const f = credential.fields.reveal();
  const session = await createConnection({
    host: f.host ?? "127.0.0.1",
    port: Number(f.port),
    user: f.username ?? "",
    password: f.password ?? "",
    connectTimeout: 5_000,
  });
  session.on("error", () => {});
  return session;
}

/** Issues, then revokes and verifies with the probe (optionally with a session open); returns [issue ms, removal ms]. */
async function cycle(
  connector: Connector,
  entitlement: EntitlementSpec,
  withSession: boolean,
): Promise<[number, number]> {
  const { issued, grant, issueMs } = await timedIssue(connector, entitlement, identity);
  const session = withSession ? await sessionOf(issued.credential) : null;
  const removal = await timedRemoval(connector, grant, issued);
  session?.destroy();
  expectRemoved(connector, grant, removal);
  return [issueMs, removal.removalMs];
}

export async function runMariadbBench(iterations: number): Promise<ConnectorBench> {
  const { ctx, close } = await benchContext("mariadb");
  const tag = randomToken(6);
  const prefix = `eph_b${tag}_`;
  const database = `ephbench_${tag}`;
  const connector = createMariadbConnector(
    { id: TARGET, type: "mariadb", settings: { url: URL_SETTING, password: PASSWORD, prefix } },
    ctx,
  );
  const entitlement: EntitlementSpec = {
    name: `${TARGET}/read`,
    targetId: TARGET,
    defaultDurationSeconds: 300,
    maxDurationSeconds: 3600,
    risk: "low",
    settings: { database, privileges: ["SELECT", "INSERT"] },
  };

  const url = new URL(URL_SETTING);
  const admin = await createConnection({
    host: url.hostname,
    port: url.port === "" ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: PASSWORD,
    connectTimeout: 5_000,
  }).catch(async (error: unknown) => {
    await connector.close();
    await close();
    throw error;
  });
  admin.on("error", () => {});
  const pattern = `${escapeId(database.replace(/_/g, "\\_"))}.*`;

  const result = {
    issue: [] as number[],
    removal: [] as number[],
    rawIssue: [] as number[],
    rawRemoval: [] as number[],
    sessionRemoval: [] as number[],
  };
  try {
    await admin.query(`CREATE DATABASE ${escapeId(database)}`);
    for (let i = 0; i < iterations; i += 1) {
      const [issueMs, removalMs] = await cycle(connector, entitlement, false);
      result.issue.push(issueMs);
      result.removal.push(removalMs);
      const [, sessionRemovalMs] = await cycle(connector, entitlement, true);
      result.sessionRemoval.push(sessionRemovalMs);

      // What an operator would type for the same account, on one admin connection.
      const name = `${prefix}raw${i}`;
      const sha1 = (data: Buffer | string) => createHash("sha1").update(data).digest();
      const hash = `*${sha1(sha1(randomToken(32)))
        .toString("hex")
        .toUpperCase()}`;
      let start = performance.now();
      await admin.query(`CREATE USER ?@'%' IDENTIFIED BY PASSWORD '${hash}'`, [name]);
      await admin.query(`GRANT SELECT, INSERT ON ${pattern} TO ?@'%'`, [name]);
      result.rawIssue.push(since(start));
      start = performance.now();
      await admin.query("ALTER USER ?@'%' ACCOUNT LOCK", [name]);
      const [sessions] = await admin.query<RowDataPacket[]>(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?",
        [name],
      );
      for (const s of sessions) await admin.query("KILL CONNECTION ?", [s.ID]).catch(() => {});
      await admin.query("DROP USER ?@'%'", [name]);
      result.rawRemoval.push(since(start));
    }
  } finally {
    const [left] = await admin
      .query<RowDataPacket[]>("SELECT User, Host FROM mysql.user")
      .catch(() => [[] as RowDataPacket[]]);
    for (const row of left) {
      if (String(row.User).startsWith(prefix)) {
        await admin.query("DROP USER IF EXISTS ?@?", [row.User, row.Host]).catch(() => {});
      }
    }
    await admin.query(`DROP DATABASE IF EXISTS ${escapeId(database)}`).catch(() => {});
    await admin.end().catch(() => {});
    await connector.close();
    await close();
  }

  return {
    connector: "mariadb",
    issue: result.issue,
    removal: result.removal,
    rawIssue: result.rawIssue,
    rawIssueLabel: "CREATE USER <u>@'%' IDENTIFIED BY PASSWORD '<hash>'; GRANT SELECT, INSERT ON `db`.* TO <u>@'%'",
    rawRemoval: result.rawRemoval,
    rawRemovalLabel:
      "ALTER USER <u> ACCOUNT LOCK; SELECT ID FROM information_schema.PROCESSLIST; KILL CONNECTION <id>…; DROP USER <u> (no proof)",
    extra: {
      "removal with one open session (lock + kill + drop + verify)": result.sessionRemoval,
    },
  };
}
