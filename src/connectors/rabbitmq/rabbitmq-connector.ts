// The `rabbitmq` connector: a user per grant with permissions on one vhost, made and removed through the management API;
// removal is DELETE of the user (which also closes its connections), then proof: user absent, no connection, login refused.
import type { Grant } from "../../domain/index.js";
import { describeError, Secret, sameSecret } from "../../support/index.js";
import type { Connector, IssuedCredential } from "../connector.js";
import type { ConnectorContext, TargetSpec } from "../context.js";
import { accountName, isManagedName, newPassword } from "../support/accounts.js";
import { adminSecretFor } from "../support/admin-secret.js";
import { type Check, check, evidenceOf, loginRefusedCheck } from "../support/evidence.js";
import { entitlementPath } from "../support/settings.js";
import { rotationSteps, tagsOf } from "./admin-rotation.js";
import { type AmqpEndpoint, tryAmqpLogin } from "./amqp-login.js";
import { Limiter } from "./limiter.js";
import { type ApiPath, type ApiResponse, apiPath, ManagementApi } from "./management-api.js";
import { accountsOf } from "./privileges.js";
import { parseEntitlementSettings, parseTargetSettings } from "./settings.js";

const REQUEST_TIMEOUT_MS = 10_000;
const LOGIN_TIMEOUT_MS = 5_000;
/** How long revoke waits for the connections of a deleted user to be gone before it fails (and is retried). */
const CONNECTIONS_GONE_MS = 3_000;
/** How long verification looks again when the management statistics still list a connection (they may lag). */
const CONNECTIONS_SETTLE_MS = 1_500;
const POLL_MS = 100;

/** A user name a grant's handle may carry: what accountName makes, under any prefix the target ever had. */
const HANDLE_PATTERN = /^[a-z][a-z0-9_]{0,15}[0-9a-z]{8,40}$/;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function hostInUrl(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

function credentialOf(endpoint: AmqpEndpoint, username: string, password: string, vhost: string): IssuedCredential {
  const host = endpoint.hostname;
  const port = String(endpoint.port);
  const url = `${endpoint.protocol}://${username}:${password}@${hostInUrl(host)}:${port}/${encodeURIComponent(vhost)}`;
  return {
    fields: new Secret({ username, password, host, port, vhost, url }),
    env: new Secret({
      AMQP_URL: url,
      RABBITMQ_HOST: host,
      RABBITMQ_PORT: port,
      RABBITMQ_VHOST: vhost,
      RABBITMQ_USERNAME: username,
      RABBITMQ_PASSWORD: password,
    }),
  };
}

function vhostOf(grant: Grant): string {
  const vhost = grant.handleData.vhost;
  return typeof vhost === "string" ? vhost : "/";
}

export function createRabbitmqConnector(target: TargetSpec, ctx: ConnectorContext): Connector {
  const settings = parseTargetSettings(target.id, target.settings);
  const { prefix, username: adminUsername } = settings;
  const api = new ManagementApi({
    targetId: target.id,
    baseUrl: settings.managementUrl,
    timeoutMs: REQUEST_TIMEOUT_MS,
    maxConcurrent: 8,
  });
  const admin = adminSecretFor(target.id, ctx, settings.password);
  const steps = rotationSteps(api, adminUsername);
  const logins = new Limiter(4);
  let closed = false;

  /** One management call as the admin, with the secret read at the moment of the call. */
  async function call(
    method: "GET" | "PUT" | "DELETE",
    path: ApiPath,
    options: { body?: unknown; reason?: string; secrets?: readonly string[] } = {},
  ): Promise<ApiResponse> {
    if (closed) throw new Error(`targets.${target.id}: the connector is closed`);
    const password = await admin.current();
    const response = await api.request({ username: adminUsername, password }, method, path, options);
    if (response.status !== 401) return response;
    // Refused: a rotation may have stopped after RabbitMQ took the new secret. Settle it, and try once more if it moved.
    const settled = await admin.settle(steps);
    if (sameSecret(settled.reveal(), password.reveal())) return response;
    return api.request({ username: adminUsername, password: settled }, method, path, options);
  }

  async function expect(
    method: "GET" | "PUT" | "DELETE",
    path: ApiPath,
    ok: readonly number[],
    options: { body?: unknown; reason?: string; secrets?: readonly string[] } = {},
  ): Promise<ApiResponse> {
    const response = await call(method, path, options);
    if (!ok.includes(response.status)) throw api.unexpected(method, path, response, options.secrets);
    return response;
  }

  /** Names of the connections the management API lists for `user`. */
  async function connectionsOf(user: string): Promise<string[]> {
    const response = await expect("GET", apiPath`/connections/username/${user}`, [200]);
    if (!Array.isArray(response.body)) return [];
    return response.body
      .filter((c): c is { name: string; user: string } => typeof c?.name === "string" && c.user === user)
      .map((c) => c.name);
  }

  /**
   * Deleting a user closes its connections in RabbitMQ (measured: CONNECTION_FORCED "user … is deleted" within ~20 ms),
   * whereas clearing its permissions or changing its password leaves them open and publishing. This makes sure: any
   * connection still listed is closed by name, until none is left or the bound passes (then revoke fails and is retried).
   */
  async function endConnections(user: string): Promise<string[]> {
    const started = Date.now();
    const ended: string[] = [];
    for (;;) {
      const open = await connectionsOf(user);
      if (open.length === 0) return ended;
      if (Date.now() - started > CONNECTIONS_GONE_MS) {
        throw new Error(
          `targets.${target.id}: ${open.length} connection(s) of user ${user} still open ${CONNECTIONS_GONE_MS} ms after it was deleted`,
        );
      }
      for (const name of open) {
        await expect("DELETE", apiPath`/connections/${name}`, [204, 404], { reason: "ephemera: access revoked" });
        if (!ended.includes(name)) ended.push(name);
      }
      await sleep(POLL_MS);
    }
  }

  /** Revoke's work: the user goes (its permissions with it, and RabbitMQ closes its connections), then no connection is left. */
  async function removeUser(user: string): Promise<{ existed: boolean; ended: string[] }> {
    if (!HANDLE_PATTERN.test(user) || user === adminUsername) {
      throw new Error(`targets.${target.id}: refusing to remove user ${JSON.stringify(user)}: not a grant's account`);
    }
    // Listed first: deleting the user closes these connections itself, and afterwards nothing would name them.
    const open = await connectionsOf(user);
    const deleted = await expect("DELETE", apiPath`/users/${user}`, [204, 404]);
    const ended = await endConnections(user);
    return { existed: deleted.status === 204, ended: [...new Set([...open, ...ended])] };
  }

  async function userAbsentCheck(user: string): Promise<Check> {
    const name = "account.absent";
    try {
      const response = await call("GET", apiPath`/users/${user}`);
      if (response.status === 404) return check(name, true, `GET /api/users/${user} answered 404: no such user`);
      if (response.status === 200) {
        const tags = tagsOf(response.body);
        return check(name, false, `user ${user} still exists (tags: ${tags.length ? tags.join(",") : "none"})`);
      }
      return check(name, false, `GET /api/users/${user} answered ${response.status}`);
    } catch (error) {
      return check(name, false, `the user list could not be read: ${describeError(error)}`);
    }
  }

  /** No connection of the user listed; the statistics may lag a moment behind a close, so it looks again, bounded. */
  async function noConnectionCheck(user: string): Promise<Check> {
    const name = "sessions.none";
    const started = Date.now();
    try {
      for (let look = 1; ; look++) {
        const open = await connectionsOf(user);
        const after = Date.now() - started;
        if (open.length === 0) {
          return check(
            name,
            true,
            `GET /api/connections/username/${user} lists no connection (look ${look}, after ${after} ms)`,
          );
        }
        if (after >= CONNECTIONS_SETTLE_MS) {
          return check(
            name,
            false,
            `${open.length} connection(s) of ${user} still listed after ${after} ms (${look} looks): ${open.slice(0, 5).join("; ")}`,
          );
        }
        await sleep(POLL_MS);
      }
    } catch (error) {
      return check(name, false, `the connection list could not be read: ${describeError(error)}`);
    }
  }

  return {
    type: "rabbitmq",
    targetId: target.id,

    validateEntitlement(entitlement) {
      parseEntitlementSettings(entitlement, settings);
    },

    prepare({ grantId, entitlement }) {
      const { vhost } = parseEntitlementSettings(entitlement, settings);
      return { handle: accountName(prefix, grantId), handleData: { vhost } };
    },

    async issue({ grant, entitlement }) {
      const spec = parseEntitlementSettings(entitlement, settings);
      const user = grant.handle;
      if (!isManagedName(prefix, user) || user === adminUsername) {
        throw new Error(`targets.${target.id}: grant handle is not an account name of prefix ${prefix}`);
      }
      const password = newPassword();
      const secrets = [password.reveal()];
      const permissionsPath = apiPath`/permissions/${spec.vhost}/${user}`;
      try {
        // No comment field exists on a RabbitMQ user (extra properties are accepted and dropped), so the prefix marks it.
        await expect("PUT", apiPath`/users/${user}`, [201, 204], {
          body: { password: password.reveal(), tags: spec.tags.join(",") },
          secrets,
        });
        const permissions = await call("PUT", permissionsPath, {
          body: { configure: spec.configure, write: spec.write, read: spec.read },
        });
        if (permissions.status !== 201 && permissions.status !== 204) {
          // The vhost must exist. RabbitMQ says so in this answer (400 vhost_or_user_not_found), which spares every
          // issue a lookup beforehand; only on this failure path is the vhost looked up, to word the error right.
          if (permissions.status === 400 && (await call("GET", apiPath`/vhosts/${spec.vhost}`)).status === 404) {
            throw new Error(`${entitlementPath(entitlement)}.vhost: no such vhost in target ${target.id}`);
          }
          throw api.unexpected("PUT", permissionsPath, permissions);
        }
      } catch (error) {
        // Nothing stays behind: the user goes again (best effort; the lifecycle's removal covers a failure here).
        await removeUser(user).catch(() => {});
        throw error;
      }
      return {
        credential: credentialOf(settings.amqp, user, password.reveal(), spec.vhost),
        handleData: { vhost: spec.vhost },
        probe: password,
      };
    },

    async renew({ grant }) {
      // RabbitMQ users have no expiry to move; the password stays. A user that vanished cannot be renewed.
      const path = apiPath`/users/${grant.handle}`;
      const response = await call("GET", path);
      if (response.status === 404) throw new Error(`targets.${target.id}: user ${grant.handle} no longer exists`);
      if (response.status !== 200) throw api.unexpected("GET", path, response);
      return { credential: null, handleData: {} };
    },

    async revoke({ grant }) {
      const removal = await removeUser(grant.handle);
      return {
        removed: removal.existed ? [`user ${grant.handle}`] : [],
        sessionsEnded: { count: removal.ended.length, ids: removal.ended.map((name) => `connection ${name}`) },
      };
    },

    async observeUsage(grants) {
      // Per user, as revoke reads them: the all-connections listing can lag behind a connection just opened.
      const seen: { grantId: string; at: number }[] = [];
      const queue = [...grants];
      const worker = async () => {
        for (let grant = queue.shift(); grant; grant = queue.shift()) {
          if ((await connectionsOf(grant.handle)).length > 0) seen.push({ grantId: grant.id, at: ctx.clock.now() });
        }
      };
      await Promise.all(Array.from({ length: Math.min(4, grants.length) }, worker));
      return seen;
    },

    async verifyRemoved({ grant, probe }) {
      const checkedAt = ctx.clock.now();
      const user = grant.handle;
      // Independent looks, taken together: the catalog, the connection list and a real login.
      const checks = await Promise.all([
        userAbsentCheck(user),
        noConnectionCheck(user),
        loginRefusedCheck(grant, probe, (secret) =>
          logins.run(() => tryAmqpLogin(settings.amqp, user, secret, vhostOf(grant), LOGIN_TIMEOUT_MS)),
        ),
      ]);
      return evidenceOf(checkedAt, checks);
    },

    async listAccounts() {
      const [users, permissions, topicPermissions] = await Promise.all([
        expect("GET", apiPath`/users`, [200]),
        expect("GET", apiPath`/permissions`, [200]),
        expect("GET", apiPath`/topic-permissions`, [200]),
      ]);
      return accountsOf(users.body, permissions.body, topicPermissions.body, { prefix, adminUsername });
    },

    async removeAccount(handle) {
      if (!isManagedName(prefix, handle) || handle === adminUsername) {
        throw new Error(`targets.${target.id}: refusing to remove account ${JSON.stringify(handle)}: not managed`);
      }
      const { existed, ended } = await removeUser(handle);
      return existed || ended.length > 0;
    },

    async rotateAdminSecret() {
      if (closed) throw new Error(`targets.${target.id}: the connector is closed`);
      const before = await admin.current();
      const { rotatedAt } = await admin.rotate(steps);
      const oldRefused = !(await steps.works(before.reveal()));
      // Every call reads admin.current(), so the next one already logs in with the new password: no pool to rebuild.
      return {
        rotated: true,
        detail:
          `password of management user ${adminUsername} replaced (PUT /api/users, tags kept) at ` +
          `${new Date(rotatedAt).toISOString()}; GET /api/whoami accepts the new one; ` +
          `the old one is ${oldRefused ? "refused" : "STILL ACCEPTED"}`,
      };
    },

    async healthy() {
      try {
        return (await call("GET", apiPath`/whoami`)).status === 200;
      } catch {
        return false;
      }
    },

    async close() {
      // fetch's sockets are shared by the process and idle out on their own; closing stops this connector's calls.
      closed = true;
    },
  };
}
