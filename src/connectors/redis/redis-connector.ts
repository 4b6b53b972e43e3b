// The `redis` connector: one ACL user per grant, removed with ACL DELUSER (which also ends its connections) and proven
// gone from ACL USERS, CLIENT LIST and a refused AUTH. Redis has no expiry on ACL users: the reconciler is the fail-safe.
import type { Redis } from "ioredis";
import type { Grant } from "../../domain/index.js";
import { Secret, sameSecret } from "../../support/index.js";
import type { AccountInfo, Connector, IssuedCredential } from "../connector.js";
import type { ConnectorContext, TargetSpec } from "../context.js";
import { accountName, isManagedName, newPassword } from "../support/accounts.js";
import { adminSecretFor } from "../support/admin-secret.js";
import { check, evidenceOf, loginRefusedCheck } from "../support/evidence.js";
import { PREFIX_PATTERN } from "../support/settings.js";
import { clientIdsOf, clientUsers, isAdmin, parseAclList, privilegesOf } from "./acl-text.js";
import { adminRotationSteps } from "./admin-rotation.js";
import { authenticate, type Endpoint, openConnection, safeText, tryLogin } from "./redis-client.js";
import {
  parseEntitlementSettings,
  parseTargetSettings,
  type RedisTargetSettings,
  setUserArguments,
} from "./settings.js";

function credentialOf(target: RedisTargetSettings, user: string, password: string): IssuedCredential {
  const scheme = target.tls ? "rediss" : "redis";
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  // The password is [0-9a-z] (newPassword), so it needs no escaping in the URL.
  const url = `${scheme}://${user}:${password}@${host}:${target.port}${target.db === null ? "" : `/${target.db}`}`;
  const port = String(target.port);
  return {
    fields: new Secret({ username: user, password, host: target.host, port, url }),
    env: new Secret({
      REDIS_URL: url,
      REDIS_USERNAME: user,
      REDIS_PASSWORD: password,
      REDIS_HOST: target.host,
      REDIS_PORT: port,
    }),
  };
}

export function createRedisConnector(target: TargetSpec, ctx: ConnectorContext): Connector {
  const settings = parseTargetSettings(target.id, target.settings);
  const endpoint: Endpoint = { host: settings.host, port: settings.port, tls: settings.tls };
  const { adminUser, prefix } = settings;
  const adminSecret = adminSecretFor(target.id, ctx, settings.password);

  // One admin connection, multiplexed (Redis runs one command at a time anyway). It never reconnects by itself: a
  // dropped one is replaced on the next call, which reads the admin secret afresh (it may have been rotated).
  let adminConnection: Promise<Redis> | null = null;

  async function connectAdmin(): Promise<Redis> {
    const client = await openConnection(endpoint);
    try {
      const current = (await adminSecret.current()).reveal();
      try {
        await authenticate(client, adminUser, current);
      } catch (error) {
        // A rotation that crashed after Redis dropped the old password leaves the stored one refused: settle it once.
        const settled = (await adminSecret.settle(adminRotationSteps(endpoint, adminUser))).reveal();
        if (sameSecret(settled, current)) throw error;
        await authenticate(client, adminUser, settled);
      }
    } catch (error) {
      client.disconnect();
      throw error;
    }
    return client;
  }

  async function admin(): Promise<Redis> {
    if (adminConnection) {
      const client = await adminConnection.catch(() => null);
      if (client?.status === "ready") return client;
      client?.disconnect();
      adminConnection = null;
    }
    const opening = connectAdmin();
    adminConnection = opening;
    opening.catch(() => {
      if (adminConnection === opening) adminConnection = null;
    });
    return opening;
  }

  async function dropAdmin(): Promise<void> {
    const closing = adminConnection;
    adminConnection = null;
    (await closing?.catch(() => null))?.disconnect();
  }

  /**
   * Runs one admin command; a failure becomes an error with Redis's text, never the arguments or a secret. A connection
   * that died under the command (Redis restarted, network cut) is replaced once: every command here is idempotent.
   */
  async function run(what: string, args: readonly [string, ...string[]], secrets: readonly string[] = []) {
    for (let attempt = 1; ; attempt += 1) {
      const client = await admin();
      try {
        return await client.call(...args);
      } catch (error) {
        if (attempt === 1 && client.status !== "ready") continue;
        throw new Error(`targets.${target.id}: ${what} failed: ${safeText(error, secrets)}`);
      }
    }
  }

  /** The user name of a handle, refused unless this broker could have made it (never `default`, never the admin). */
  function managed(handle: string, withPrefix = prefix): string {
    if (!isManagedName(withPrefix, handle) || handle === adminUser) {
      throw new Error(`targets.${target.id}: '${handle}' is not an account this broker makes (prefix ${withPrefix})`);
    }
    return handle;
  }

  /** The user of a grant, checked against the prefix it was made with (the setting may have changed since). */
  function userOf(grant: Grant): string {
    const recorded = grant.handleData.prefix;
    return managed(grant.handle, typeof recorded === "string" && PREFIX_PATTERN.test(recorded) ? recorded : prefix);
  }

  /** ACL DELUSER: deletes the user and closes every connection logged in as it. Resolves true when it existed. */
  async function deleteUser(name: string): Promise<boolean> {
    const deleted = await run(`ACL DELUSER ${name}`, ["ACL", "DELUSER", name]);
    return Number(deleted) > 0;
  }

  async function userExists(name: string): Promise<boolean> {
    return (await run(`ACL GETUSER ${name}`, ["ACL", "GETUSER", name])) !== null;
  }

  return {
    type: "redis",
    targetId: target.id,

    validateEntitlement(entitlement) {
      parseEntitlementSettings(entitlement, settings);
    },

    prepare({ grantId }) {
      return { handle: accountName(prefix, grantId), handleData: { prefix } };
    },

    async issue({ grant, entitlement }) {
      const rules = parseEntitlementSettings(entitlement, settings);
      const name = userOf(grant);
      const password = newPassword();
      const secret = password.reveal();
      try {
        // One atomic command: Redis applies every rule or none, and a new user is not created when a rule is refused.
        await run(`ACL SETUSER ${name}`, ["ACL", ...setUserArguments(name, secret, rules, settings)], [secret]);
      } catch (error) {
        // The reply may have been lost after Redis applied it: remove the name, best effort, before failing. If that
        // fails too, the lifecycle's removal of the failed grant (or the reconciler) deletes it later.
        await deleteUser(name).catch((cleanup: unknown) => {
          ctx.logger.warn(
            { target: target.id, user: name, error: safeText(cleanup, [secret]) },
            "redis: cleanup after a failed issue failed",
          );
        });
        throw error;
      }
      return { credential: credentialOf(settings, name, secret), handleData: {}, probe: password };
    },

    async renew({ grant }) {
      // Redis ACL users carry no expiry, so there is nothing downstream to move; the same password stays valid.
      const name = userOf(grant);
      if (!(await userExists(name))) {
        throw new Error(`targets.${target.id}: ACL user ${name} no longer exists, so the grant cannot be renewed`);
      }
      return { credential: null, handleData: {} };
    },

    async revoke({ grant }) {
      // ACL DELUSER blocks new logins, closes the user's connections and removes its rules in one step. Neither
      // `ACL SETUSER … off` nor a password change ends a connection already logged in, so they are not used.
      const name = userOf(grant);
      // Listed first: DELUSER closes these connections, so afterwards nothing would name them.
      const ids = clientIdsOf(String(await run("CLIENT LIST", ["CLIENT", "LIST"])), name);
      const existed = await deleteUser(name);
      return {
        removed: existed ? [`ACL user ${name}`] : [],
        sessionsEnded: { count: ids.length, ids: ids.map((id) => `client ${id}`) },
      };
    },

    async observeUsage(grants) {
      const users = new Set(clientUsers(String(await run("CLIENT LIST", ["CLIENT", "LIST"]))));
      const at = ctx.clock.now();
      return grants.filter((g) => users.has(userOf(g))).map((g) => ({ grantId: g.id, at }));
    },

    async verifyRemoved({ grant, probe }) {
      const name = userOf(grant);
      // Independent looks, taken together: the two reads pipeline on the admin connection, the login probe opens its
      // own. A login the probe manages fails its check whatever the reads saw.
      const [listed, clientList, login] = await Promise.all([
        run("ACL USERS", ["ACL", "USERS"]),
        run("CLIENT LIST", ["CLIENT", "LIST"]),
        loginRefusedCheck(grant, probe, (secret) => tryLogin(endpoint, name, secret)),
      ]);
      const users = (listed as unknown[]).map(String);
      const clients = clientUsers(String(clientList));
      const sessions = clients.filter((u) => u === name).length;
      const checks = [
        check(
          "account.absent",
          !users.includes(name),
          users.includes(name)
            ? `ACL USERS still lists ${name}`
            : `ACL USERS lists ${users.length} users and not ${name}`,
        ),
        check(
          "sessions.none",
          sessions === 0,
          sessions === 0
            ? `CLIENT LIST shows ${clients.length} clients and none logged in as ${name}`
            : `CLIENT LIST shows ${sessions} client(s) logged in as ${name}`,
        ),
        login,
      ];
      return evidenceOf(ctx.clock.now(), checks);
    },

    async listAccounts() {
      const lines = ((await run("ACL LIST", ["ACL", "LIST"])) as unknown[]).map(String);
      return parseAclList(lines).map(
        (user): AccountInfo => ({
          handle: user.name,
          managed: isManagedName(prefix, user.name) && user.name !== adminUser,
          expiresAt: null,
          privileges: privilegesOf(user),
          admin: isAdmin(user),
          broker: user.name === adminUser,
        }),
      );
    },

    async removeAccount(handle) {
      return deleteUser(managed(handle));
    },

    async rotateAdminSecret() {
      if ((await adminSecret.current()).reveal() === "") {
        return {
          rotated: false,
          detail: `ACL user ${adminUser} is configured without a password; give it one before the broker can rotate it`,
        };
      }
      await adminSecret.rotate(adminRotationSteps(endpoint, adminUser));
      // The open admin connection stays logged in with the old password (Redis keeps it); the next call logs in anew.
      await dropAdmin();
      await run("PING", ["PING"]);
      return {
        rotated: true,
        detail:
          `ACL user ${adminUser}: new password added and accepted by AUTH on a fresh connection, then the old one ` +
          "removed and refused; the broker reconnected with the new one. Connections opened before keep working until " +
          "they close (Redis does not end them on a password change)",
      };
    },

    async healthy() {
      try {
        return (await run("PING", ["PING"])) === "PONG";
      } catch {
        return false;
      }
    },

    async close() {
      await dropAdmin();
    },
  };
}
