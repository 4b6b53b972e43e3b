// Removing a MariaDB account so that access really ends, and reading what is left of it. The order is the point: a
// session survives DROP USER with its database- and global-level rights (measured), so logins are blocked first
// (ACCOUNT LOCK), then every session is killed, then the account is dropped, then stragglers are swept once more.
import type { AdminConnection } from "./admin-connection.js";
import { accountLiteral, ER_NO_SUCH_THREAD } from "./sql.js";

export interface Session {
  readonly id: number;
  /** As the server lists it: `127.0.0.1:53480`, `localhost`… */
  readonly host: string;
}

/** Rounds of list-and-kill before revoke gives up (a killed thread can take a moment to leave the list). */
const KILL_ROUNDS = 20;
/** Pause after a round of kills: 2 ms doubling to 100 ms, so a quick exit is seen at once and a slow one within ~1.5 s. */
const killPauseMs = (round: number) => Math.min(2 ** round * 2, 100);

/** Every host the user name has in the catalogue (the account host, plus any twin made beside an anonymous account). */
export async function hostsOf(db: AdminConnection, name: string): Promise<string[]> {
  const rows = await db.run<{ Host: string; User: string }[]>(
    "read mysql.user",
    "SELECT User, Host FROM mysql.user WHERE User = ?",
    { values: [name] },
  );
  return rows.filter((r) => r.User === name).map((r) => r.Host);
}

/**
 * Sessions logged in as `name`, matched by user name alone. Not by host: the process list shows the client's address
 * (`127.0.0.1:port`) or the name it resolves to (`localhost`), and `KILL CONNECTION USER` compares its host literally
 * with that, so the other spelling or a pattern such as `127.0.0.%` kills nothing (measured).
 */
export async function sessionsOf(db: AdminConnection, name: string): Promise<Session[]> {
  const rows = await db.run<{ ID: number; USER: string; HOST: string }[]>(
    "read information_schema.PROCESSLIST",
    "SELECT ID, USER, HOST FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()",
    { values: [name] },
  );
  // The column compares case-insensitively; user names do not.
  return rows.filter((r) => r.USER === name).map((r) => ({ id: Number(r.ID), host: String(r.HOST) }));
}

/** Kills the sessions of `name` until none is listed; throws when some outlive every round. Returns the ids it killed. */
export async function endSessions(db: AdminConnection, name: string): Promise<number[]> {
  const killed: number[] = [];
  for (let round = 0; round < KILL_ROUNDS; round++) {
    const sessions = await sessionsOf(db, name);
    if (sessions.length === 0) return killed;
    for (const session of sessions) {
      // Gone in the meantime (ER_NO_SUCH_THREAD) is what we wanted.
      await db.run("KILL CONNECTION", "KILL CONNECTION ?", { values: [session.id], ignore: [ER_NO_SUCH_THREAD] });
      if (!killed.includes(session.id)) killed.push(session.id);
    }
    await new Promise((resolve) => setTimeout(resolve, killPauseMs(round)));
  }
  const left = await sessionsOf(db, name);
  if (left.length === 0) return killed;
  throw new Error(
    `targets.${db.targetId}: ${left.length} session(s) of ${name} still open after ${KILL_ROUNDS} kill rounds`,
  );
}

export interface Removal {
  /** Hosts the account had when removal began (empty: it was already gone). */
  readonly hosts: readonly string[];
  /** Connection ids killed. */
  readonly sessionsEnded: readonly number[];
}

/** Lock → kill → drop → sweep. Idempotent: an account or session already gone is success. */
export async function removeAccount(db: AdminConnection, name: string): Promise<Removal> {
  const hosts = await hostsOf(db, name);
  for (const host of hosts) {
    await db.run("ALTER USER … ACCOUNT LOCK", `ALTER USER IF EXISTS ${accountLiteral(name, host)} ACCOUNT LOCK`);
  }
  const sessionsEnded = await endSessions(db, name);
  if (hosts.length > 0) {
    const accounts = hosts.map((host) => accountLiteral(name, host)).join(", ");
    await db.run("DROP USER", `DROP USER IF EXISTS ${accounts}`);
  }
  // A session that got in before the lock and was missed by the last listing would keep its rights after the drop.
  sessionsEnded.push(...(await endSessions(db, name)));
  return { hosts, sessionsEnded };
}
