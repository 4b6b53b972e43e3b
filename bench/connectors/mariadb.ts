// MariaDB connector benchmark: broker-path issue and proven removal beside the raw statements an operator would type
// for the same account, plus removal while the account holds an open session (the kill path).
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type Connection, createConnection, escapeId, type RowDataPacket } from "mysql2/promise";
import type { Connector, EntitlementSpec, IssuedCredential } from "../../src/connectors/connector.js";
import { createMariadbConnector } from "../../src/connectors/mariadb/index.js";
import type { ConnectorContext } from "../../src/connectors/registry.js";
import { TokenAuthority } from "../../src/connectors/token/index.js";
import { openGrant } from "../../src/domain/transitions.js";
import type { Grant, Identity } from "../../src/domain/types.js";
import { openSqliteStore } from "../../src/storage/index.js";
import { systemClock } from "../../src/support/clock.js";
import { newId, randomToken } from "../../src/support/ids.js";
import { silentLogger } from "../../src/support/logger.js";
import { Sealer } from "../../src/support/sealer.js";
import type { ConnectorBench } from "./types.js";

const TARGET = "bench-mariadb";

/** The server to measure: `EPHEMERA_BENCH_MARIADB_URL` (admin login, no password in it) and `…_PASSWORD`. */
const URL_SETTING = process.env.EPHEMERA_BENCH_MARIADB_URL ?? "mysql://root@127.0.0.1:3306";
const PASSWORD = process.env.EPHEMERA_BENCH_MARIADB_PASSWORD ?? "";

const identity: Identity = {
  id: "bench-client",
  kind: "service_account",
  owner: "bench",
  groups: [],
  attributes: {},
  status: "active",
  admin: false,
};

function since(start: number): number {
  return performance.now() - start;
}

function grantFor(connector: Connector, entitlement: EntitlementSpec): Grant {
  const now = systemClock.now();
  const id = newId("grt");
  const { handle, handleData } = connector.prepare({ grantId: id, identity, entitlement });
  return openGrant({
    id,
    requestId: newId("req"),
    identityId: identity.id,
    targetId: TARGET,
    entitlement: entitlement.name,
    connectorType: connector.type,
    handle,
    handleData,
    createdAt: now,
    expiresAt: now + 300_000,
    maxExpiresAt: now + 3_600_000,
    dueAt: now + 300_000,
  });
}

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
  const opened = grantFor(connector, entitlement);
  let start = performance.now();
  const issued = await connector.issue({ grant: opened, identity, entitlement, expiresAt: opened.expiresAt });
  const issueMs = since(start);
  const grant: Grant = {
    ...opened,
    state: "active",
    issuedAt: opened.createdAt,
    handleData: { ...opened.handleData, ...issued.handleData },
    version: 2,
  };
  const session = withSession ? await sessionOf(issued.credential) : null;
  start = performance.now();
  await connector.revoke({ grant });
  const verified = await connector.verifyRemoved({ grant, probe: issued.probe ?? null });
  const removalMs = since(start);
  session?.destroy();
  if (!verified.removed) throw new Error(`mariadb bench: removal of ${grant.handle} was not verified`);
  return [issueMs, removalMs];
}

export async function runMariadbBench(iterations: number): Promise<ConnectorBench> {
  const dir = mkdtempSync(join(tmpdir(), "ephemera-mariadb-bench-"));
  const store = await openSqliteStore(join(dir, "bench.db"));
  const sealer = new Sealer(randomBytes(32));
  const tokenAuthority = new TokenAuthority({
    issuer: "https://ephemera.bench",
    store,
    sealer,
    clock: systemClock,
    rotationIntervalSeconds: 3600,
    maxTokenLifetimeSeconds: 3600,
    leewaySeconds: 60,
  });
  const ctx: ConnectorContext = { store, clock: systemClock, sealer, logger: silentLogger(), tokenAuthority };
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
    await store.close();
    rmSync(dir, { recursive: true, force: true });
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
