// The `postgres` connector: one short-lived LOGIN role per grant, made a member of pre-made group roles, with its own
// VALID UNTIL so PostgreSQL refuses new password logins soon after expiry even when the broker is down.
import type { Grant, Millis } from "../../domain/index.js";
import { Secret } from "../../support/index.js";
import type { Connector, IssuedCredential } from "../connector.js";
import type { ConnectorContext, TargetSpec } from "../context.js";
import { accountName, isManagedName, newPassword } from "../support/accounts.js";
import { adminSecretFor } from "../support/admin-secret.js";
import { evidenceOf, loginRefusedCheck } from "../support/evidence.js";
import { entitlementPath } from "../support/settings.js";
import { accountOf, GRANT_MARKER, grantMarker, readRoles } from "./accounts.js";
import { escapeIdentifier, escapeLiteral, PgAdmin, sqlStateOf } from "./admin-connection.js";
import { leftoverChecks } from "./removal-check.js";
import { removeRole } from "./role-removal.js";
import { scramVerifier } from "./scram.js";
import { type PgEndpoint, parsePostgresEntitlement, parsePostgresTarget } from "./settings.js";

const GRANT_ID = /^[a-z]+_[0-9a-z]{8,40}$/;

function iso(ms: Millis): string {
  return new Date(ms).toISOString();
}

function credentialOf(endpoint: PgEndpoint, user: string, password: string): IssuedCredential {
  const host = endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host;
  const url = `postgres://${user}:${password}@${host}:${endpoint.port}/${encodeURIComponent(endpoint.database)}`;
  const port = String(endpoint.port);
  return {
    fields: new Secret({ username: user, password, host: endpoint.host, port, database: endpoint.database, url }),
    env: new Secret({
      PGHOST: endpoint.host,
      PGPORT: port,
      PGDATABASE: endpoint.database,
      PGUSER: user,
      PGPASSWORD: password,
      DATABASE_URL: url,
    }),
  };
}

/** The oid recorded at issue, when the grant got that far. */
function knownOid(grant: Grant): number | null {
  const oid = grant.handleData.roleOid;
  return typeof oid === "number" && Number.isInteger(oid) && oid > 0 ? oid : null;
}

export function createPostgresConnector(target: TargetSpec, ctx: ConnectorContext): Connector {
  const settings = parsePostgresTarget(target.id, target.settings);
  const { prefix, validUntilMargin } = settings;
  const secret = adminSecretFor(target.id, ctx, settings.password);
  const admin = new PgAdmin({ targetId: target.id, settings, secret, logger: ctx.logger });
  const endpoint = settings.endpoint;

  /** The role of a grant: only a name this target's prefix could have made is ever used in a statement. */
  function roleOf(grant: Grant): string {
    if (!isManagedName(prefix, grant.handle) || !GRANT_ID.test(grant.id)) {
      throw new Error(`targets.${target.id}: grant ${grant.id} has a handle this target did not make`);
    }
    return grant.handle;
  }

  const validUntil = (expiresAt: Millis) => escapeLiteral(iso(expiresAt + validUntilMargin * 1000));

  /** Names the entitlement's roles that are missing, by index (the value is never repeated). */
  async function missingRoles(path: string, roles: readonly string[]): Promise<string | null> {
    const found = await admin.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname = ANY($1)", [
      roles,
    ]);
    const present = new Set(found.rows.map((r) => r.rolname));
    const missing = roles.flatMap((role, index) => (present.has(role) ? [] : [`${path}.roles[${index}]`]));
    return missing.length === 0 ? null : `${missing.join(", ")}: no such role in the target`;
  }

  return {
    type: "postgres",
    targetId: target.id,

    validateEntitlement(entitlement) {
      parsePostgresEntitlement(entitlement);
    },

    prepare({ grantId }) {
      return { handle: accountName(prefix, grantId), handleData: {} };
    },

    async issue({ grant, entitlement, expiresAt }) {
      const { roles, connectionLimit } = parsePostgresEntitlement(entitlement);
      const name = roleOf(grant);
      const ident = escapeIdentifier(name);
      const password = newPassword();
      const verifier = await scramVerifier(password.reveal(), settings.scramIterations);
      const limit = connectionLimit === null ? "" : ` CONNECTION LIMIT ${connectionLimit}`;
      // One round trip, one implicit transaction: the role, its memberships and its marker exist together or not at all.
      const script = [
        `CREATE ROLE ${ident} LOGIN PASSWORD ${escapeLiteral(verifier)} VALID UNTIL ${validUntil(expiresAt)}${limit}` +
          ` IN ROLE ${roles.map(escapeIdentifier).join(", ")}`,
        `COMMENT ON ROLE ${ident} IS ${escapeLiteral(grantMarker(grant.id))}`,
        `SELECT oid::int8 AS oid FROM pg_roles WHERE rolname = ${escapeLiteral(name)}`,
      ].join(";\n");
      let oid: number;
      try {
        const results = await admin.script(script);
        oid = Number(results.at(-1)?.rows[0]?.oid);
      } catch (error) {
        const code = sqlStateOf(error);
        if (code === null) {
          // The connection broke: the commit may or may not have happened. Remove what might be there (best effort).
          await removeRole(admin, { name, knownOid: null, grantId: grant.id }).catch(() => {});
          throw new Error(
            `targets.${target.id}: PostgreSQL could not be reached to create the role (${String((error as Error).message).slice(0, 120)})`,
          );
        }
        if (code === "42704") {
          const missing = await missingRoles(entitlementPath(entitlement), roles).catch(() => null);
          if (missing) throw new Error(missing);
        }
        // The driver's text may quote the statement, which holds the verifier: only the code and the statement kind.
        throw new Error(`targets.${target.id}: CREATE ROLE for grant ${grant.id} failed (SQLSTATE ${code})`);
      }
      return {
        credential: credentialOf(endpoint, name, password.reveal()),
        handleData: { roleOid: oid, roles },
        probe: password,
      };
    },

    async renew({ grant, expiresAt }) {
      const name = roleOf(grant);
      try {
        await admin.query(`ALTER ROLE ${escapeIdentifier(name)} VALID UNTIL ${validUntil(expiresAt)}`);
      } catch (error) {
        if (sqlStateOf(error) === "42704") throw new Error(`targets.${target.id}: role ${name} no longer exists`);
        throw error;
      }
      return { credential: null, handleData: {} };
    },

    async revoke({ grant }) {
      const name = roleOf(grant);
      const removal = await removeRole(admin, { name, knownOid: knownOid(grant), grantId: grant.id });
      return {
        removed: removal.existed ? [`role ${name}`] : [],
        sessionsEnded: { count: removal.sessions.length, ids: removal.sessions.map((pid) => `pid ${pid}`) },
      };
    },

    async observeUsage(grants) {
      const names = new Map(grants.map((g) => [roleOf(g), g.id]));
      const seen = await admin.query<{ usename: string }>(
        "SELECT DISTINCT usename FROM pg_stat_activity WHERE usename = ANY($1::text[])",
        [[...names.keys()]],
      );
      const at = ctx.clock.now();
      return seen.rows.flatMap((r) => {
        const grantId = names.get(r.usename);
        return grantId === undefined ? [] : [{ grantId, at }];
      });
    },

    async verifyRemoved({ grant, probe }) {
      const name = roleOf(grant);
      const checkedAt = ctx.clock.now();
      // The probe's login (a backend fork on the server) is the slow part: it runs beside the one catalogue read. A
      // login the probe manages shows as failed whatever the read saw, so running them together proves no less.
      const [leftovers, login] = await Promise.all([
        leftoverChecks(admin, name, knownOid(grant)),
        loginRefusedCheck(grant, probe, (password) => admin.tryLogin(name, password)),
      ]);
      return evidenceOf(checkedAt, [...leftovers, login]);
    },

    async listAccounts() {
      const rows = await readRoles(admin);
      return rows.map((row) =>
        accountOf(
          row,
          isManagedName(prefix, row.rolname) && (row.comment?.startsWith(GRANT_MARKER) ?? false),
          endpoint.user,
        ),
      );
    },

    async removeAccount(handle) {
      if (!isManagedName(prefix, handle)) {
        throw new Error(`targets.${target.id}: ${handle} is not a role this target makes; refusing to remove it`);
      }
      const removal = await removeRole(admin, { name: handle, knownOid: null, grantId: null });
      return removal.existed || removal.sessions.length > 0;
    },

    rotateAdminSecret: () => admin.rotate(),
    healthy: () => admin.healthy(),
    close: () => admin.close(),
  };
}
