// The `mariadb` connector: a short-lived MariaDB account per grant with the entitlement's privileges; removal locks it,
// kills its sessions and drops it, and is proven by the catalogue, the process list and a refused login.
import { Secret, sameSecret } from "../../support/index.js";
import type { Connector, IssuedCredential } from "../connector.js";
import type { ConnectorContext, TargetSpec } from "../context.js";
import { accountName, isManagedName, newPassword } from "../support/accounts.js";
import { adminSecretFor } from "../support/admin-secret.js";
import { check, evidenceOf, loginRefusedCheck } from "../support/evidence.js";
import { listAccounts } from "./accounts.js";
import { AdminConnection } from "./admin-connection.js";
import { attemptLogin } from "./login.js";
import { grantObject, grantStatement } from "./privileges.js";
import { hostsOf, removeAccount, sessionsOf } from "./removal.js";
import { type MariadbGrantSpec, type MariadbTargetSettings, parseGrantSpec, parseTargetSettings } from "./settings.js";
import { accountLiteral, codeOf, nativePasswordHash } from "./sql.js";

function credentialOf(
  settings: MariadbTargetSettings,
  spec: MariadbGrantSpec,
  username: string,
  password: string,
): IssuedCredential {
  const host = settings.host.includes(":") ? `[${settings.host}]` : settings.host;
  const database = spec.database ?? "";
  const url = `mysql://${username}:${password}@${host}:${settings.port}/${encodeURIComponent(database)}`;
  const fields: Record<string, string> = {
    username,
    password,
    host: settings.host,
    port: String(settings.port),
    url,
  };
  // The variables the mariadb/mysql command-line clients read, and the URL most frameworks take.
  const env: Record<string, string> = {
    MYSQL_HOST: settings.host,
    MYSQL_TCP_PORT: String(settings.port),
    MYSQL_USER: username,
    MYSQL_PWD: password,
    DATABASE_URL: url,
  };
  if (spec.database !== undefined) {
    fields.database = spec.database;
    env.MYSQL_DATABASE = spec.database;
  }
  return { fields: new Secret(fields), env: new Secret(env) };
}

export function createMariadbConnector(target: TargetSpec, ctx: ConnectorContext): Connector {
  const settings = parseTargetSettings(target.id, target.settings);
  const admin = adminSecretFor(target.id, ctx, settings.password);
  const db = new AdminConnection(target.id, settings, admin);

  /** The handle, checked: only a name `accountName` could have made reaches a statement. */
  function managedName(handle: string): string {
    if (!isManagedName(settings.prefix, handle)) {
      throw new Error(
        `targets.${target.id}: '${handle.slice(0, 80)}' is not an account this broker makes (prefix ${settings.prefix}); refusing to touch it`,
      );
    }
    return handle;
  }

  /**
   * The hosts to create the account on. An anonymous account (`''@'localhost'`, `''@'10.0.0.5'`) with a more specific
   * host than the account's sorts first and takes the password login of every user from there (measured: 1045). With
   * the default host `%` the broker adds a twin `'name'@'<that host>'`, which reaches no further than `%` already does
   * and wins over the anonymous one; with any other host it cannot tell the overlap, so it refuses.
   */
  async function hostsForNewAccount(): Promise<string[]> {
    const rows = await db.run<{ Host: string }[]>(
      "read anonymous accounts",
      "SELECT Host FROM mysql.user WHERE User = '' AND is_role = 'N'",
    );
    const shadowing = rows.map((r) => r.Host).filter((host) => host !== "%" && host !== settings.accountHost);
    if (shadowing.length === 0) return [settings.accountHost];
    if (settings.accountHost !== "%") {
      const list = shadowing.map((host) => `''@'${host}'`).join(", ");
      throw new Error(
        `targets.${target.id}: anonymous account(s) ${list} may shadow accounts made on host '${settings.accountHost}' at password login; drop them (DROP USER ''@'<host>') or use accountHost '%'`,
      );
    }
    return [settings.accountHost, ...shadowing];
  }

  return {
    type: "mariadb",
    targetId: target.id,

    validateEntitlement(entitlement) {
      parseGrantSpec(entitlement);
    },

    prepare({ grantId }) {
      return { handle: accountName(settings.prefix, grantId), handleData: { accountHost: settings.accountHost } };
    },

    async issue({ grant, entitlement }) {
      const spec = parseGrantSpec(entitlement);
      const name = managedName(grant.handle);
      const password = newPassword();
      const hash = nativePasswordHash(password.reveal());
      let hosts: string[] = [];
      try {
        hosts = await hostsForNewAccount();
        for (const host of hosts) {
          const account = accountLiteral(name, host);
          await db.run("CREATE USER", `CREATE USER ${account} IDENTIFIED BY PASSWORD '${hash}'`, {
            carriesSecret: true,
          });
          await db.run("GRANT", grantStatement(spec, account));
        }
      } catch (error) {
        // Nothing may stay behind: remove whatever was made (best effort; the lifecycle's revoke retries otherwise).
        await removeAccount(db, name).catch(() => {});
        throw error;
      }
      return {
        credential: credentialOf(settings, spec, name, password.reveal()),
        handleData: { accountHosts: hosts, grantedOn: grantObject(spec), privileges: [...spec.privileges] },
        probe: password,
      };
    },

    async renew() {
      // MariaDB has no account expiry to move (no VALID UNTIL); the password stays valid until revoke.
      return { credential: null, handleData: {} };
    },

    async revoke({ grant }) {
      const name = managedName(grant.handle);
      const removal = await removeAccount(db, name);
      return {
        removed: removal.hosts.map((host) => `user '${name}'@'${host}'`),
        sessionsEnded: {
          count: removal.sessionsEnded.length,
          ids: removal.sessionsEnded.map((id) => `connection ${id}`),
        },
      };
    },

    async observeUsage(grants) {
      const names = new Map(grants.map((g) => [managedName(g.handle), g.id]));
      const rows = await db.run<{ USER: string }[]>(
        "read information_schema.PROCESSLIST",
        "SELECT DISTINCT USER FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()",
      );
      const at = ctx.clock.now();
      // Compared here, exactly: the column compares case-insensitively and user names do not.
      return rows.flatMap((r) => {
        const grantId = names.get(String(r.USER));
        return grantId === undefined ? [] : [{ grantId, at }];
      });
    },

    async verifyRemoved({ grant, probe }) {
      const name = managedName(grant.handle);
      const catalogCheck = hostsOf(db, name).then(
        (hosts) =>
          hosts.length === 0
            ? check("mariadb.account_absent", true, `no row for user '${name}' in mysql.user`)
            : check(
                "mariadb.account_absent",
                false,
                `mysql.user still holds ${hosts.map((h) => `'${name}'@'${h}'`).join(", ")}`,
              ),
        (error: unknown) => check("mariadb.account_absent", false, `mysql.user could not be read: ${codeOf(error)}`),
      );
      const sessionsCheck = sessionsOf(db, name).then(
        (list) =>
          list.length === 0
            ? check("mariadb.no_session", true, `no connection of user '${name}' in information_schema.PROCESSLIST`)
            : check(
                "mariadb.no_session",
                false,
                `${list.length} connection(s) of user '${name}' still open: ${list.map((s) => `id ${s.id} from ${s.host}`).join(", ")}`,
              ),
        (error: unknown) => check("mariadb.no_session", false, `the process list could not be read: ${codeOf(error)}`),
      );
      // The two reads go together on the pool; the login probe only after them, because MariaDB lists a connection
      // under the user it names while it is still being authenticated, so a probe beside the process-list read would
      // show up in it as an open session.
      const reads = await Promise.all([catalogCheck, sessionsCheck]);
      const login = await loginRefusedCheck(grant, probe, (secret) => attemptLogin(db.endpoint, name, secret));
      return evidenceOf(ctx.clock.now(), [...reads, login]);
    },

    async listAccounts() {
      return listAccounts(db, settings.prefix);
    },

    async removeAccount(handle) {
      const removal = await removeAccount(db, managedName(handle));
      return removal.hosts.length > 0 || removal.sessionsEnded.length > 0;
    },

    async rotateAdminSecret() {
      const before = (await admin.current()).reveal();
      await admin.rotate(db.rotationSteps);
      await db.rebuild();
      const oldRefused = sameSecret(before, (await admin.current()).reveal())
        ? false
        : !(await db.rotationSteps.works(before));
      // The pool's open sessions would survive the change like any other; it was rebuilt so the next login uses the new one.
      return {
        rotated: true,
        detail: `password of admin user '${settings.user}' replaced with SET PASSWORD (stored as a mysql_native_password hash); a fresh login with the new one succeeded; the old one is ${oldRefused ? "refused" : "STILL ACCEPTED — check for a second account of that user"}`,
      };
    },

    async healthy() {
      try {
        await db.run("health check", "SELECT 1");
        return true;
      } catch {
        return false;
      }
    },

    async close() {
      await db.close();
    },
  };
}
