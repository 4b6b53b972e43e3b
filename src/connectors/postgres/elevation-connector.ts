// The `postgres-elevation` connector: temporary role elevation. For the window, a group role is granted to the
// identity's own existing login; afterwards it is revoked, unless another live grant still holds the same membership.
//
// Reference counting and its race. The broker's grant store is the source of truth for who holds `<login>:<role>`:
// every grant is committed there (state `issuing`) before `issue` runs, and leaves `issuing`/`active` before `revoke`
// runs. GRANT, and the count-then-REVOKE, each run in one transaction holding pg_advisory_xact_lock on the handle;
// the count is read from the store while the lock is held. Take grant A being revoked and grant B being issued:
//  - if B was committed to the store before A's revoke read it, A sees B as a holder and does not REVOKE;
//  - otherwise B's GRANT starts after that read, and so after A took the lock: it waits for A's COMMIT and grants the
//    membership again after A's REVOKE.
// Either way B ends up holding the membership: a revoke can never strip a live grant (DESIGN invariant 11).
//
// Sessions. Measured on PostgreSQL 15 (postgres-facts.test.ts): privileges inherited through a membership end at the
// REVOKE, but a session that did `SET ROLE <group>` keeps acting as the group after the REVOKE, and pg_stat_activity
// shows only the session's login, never its current role. So when the last holder goes, every session of the login
// that began before the REVOKE committed is ended (sessions opened after it cannot SET ROLE to the group any more).

import type { ClientBase } from "pg";
import type { Grant, Identity } from "../../domain/index.js";
import { Secret } from "../../support/index.js";
import type { Connector, EntitlementSpec, IssuedCredential } from "../connector.js";
import type { ConnectorContext, TargetSpec } from "../context.js";
import { adminSecretFor } from "../support/admin-secret.js";
import { check, evidenceOf } from "../support/evidence.js";
import { entitlementPath, OBJECT_NAME_PATTERN, OBJECT_NAME_RULE } from "../support/settings.js";
import { accountOf, membershipAccount, readBrokerMemberships, readRoles } from "./accounts.js";
import { escapeIdentifier, PgAdmin } from "./admin-connection.js";
import { endSessions } from "./role-removal.js";
import { type PgEndpoint, parseElevationEntitlement, parseElevationTarget } from "./settings.js";

/** Advisory locks of this connector live in their own key space (two int4 keys), apart from applications' locks. */
const LOCK_SPACE = "ephemera.postgres-elevation";
const HOLDER_PAGE = 500;

interface Elevation {
  readonly login: string;
  readonly role: string;
}

interface MembershipState {
  readonly login_oid: string | null;
  readonly can_login: boolean | null;
  readonly role_oid: string | null;
  /** Grantors of the login's memberships in the role (several from PostgreSQL 16). */
  readonly grantors: readonly string[];
}

function parseHandle(targetId: string, handle: string): Elevation {
  const [login, role, ...rest] = handle.split(":");
  if (rest.length > 0 || !login || !role || !OBJECT_NAME_PATTERN.test(login) || !OBJECT_NAME_PATTERN.test(role)) {
    throw new Error(`targets.${targetId}: handle is not <login>:<role>`);
  }
  return { login, role };
}

function credentialOf(endpoint: PgEndpoint, { login, role }: Elevation): IssuedCredential {
  const port = String(endpoint.port);
  return {
    fields: new Secret({ username: login, role, host: endpoint.host, port, database: endpoint.database }),
    env: new Secret({
      PGHOST: endpoint.host,
      PGPORT: port,
      PGDATABASE: endpoint.database,
      PGUSER: login,
      EPHEMERA_PG_ROLE: role,
    }),
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

export function createPostgresElevationConnector(target: TargetSpec, ctx: ConnectorContext): Connector {
  const settings = parseElevationTarget(target.id, target.settings);
  const { loginAttribute, endpoint } = settings;
  const secret = adminSecretFor(target.id, ctx, settings.password);
  const admin = new PgAdmin({ targetId: target.id, settings, secret, logger: ctx.logger });

  /** The identity's login and the entitlement's role; throws naming the attribute or setting that is wrong. */
  function elevationFor(identity: Identity, entitlement: EntitlementSpec): Elevation {
    const { role } = parseElevationEntitlement(entitlement);
    const login = identity.attributes[loginAttribute];
    if (login === undefined) {
      throw new Error(
        `identity ${identity.id} has no attribute '${loginAttribute}' (targets.${target.id}.loginAttribute), so it has no PostgreSQL login to elevate`,
      );
    }
    if (!OBJECT_NAME_PATTERN.test(login)) {
      throw new Error(
        `identity ${identity.id}: attribute '${loginAttribute}' must name a PostgreSQL login: ${OBJECT_NAME_RULE}`,
      );
    }
    if (login === endpoint.user) {
      throw new Error(`identity ${identity.id}: attribute '${loginAttribute}' names the broker's own admin login`);
    }
    return { login, role };
  }

  /** Grants of this target in `issuing` or `active` with this handle, except `except`: the membership's holders. */
  async function liveHolders(handle: string, except: string | null): Promise<string[]> {
    const holders: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await ctx.store.listGrants({
        targetId: target.id,
        states: ["issuing", "active"],
        limit: HOLDER_PAGE,
        ...(after === undefined ? {} : { after }),
      });
      for (const grant of page) if (grant.handle === handle && grant.id !== except) holders.push(grant.id);
      if (page.length < HOLDER_PAGE) return holders;
      after = page.at(-1)?.id;
    }
  }

  async function lock(client: ClientBase, handle: string): Promise<void> {
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))", [LOCK_SPACE, handle]);
  }

  async function membership(client: ClientBase, { login, role }: Elevation): Promise<MembershipState> {
    const result = await client.query<MembershipState>(
      `SELECT (SELECT oid::int8 FROM pg_roles WHERE rolname = $1) AS login_oid,
              (SELECT rolcanlogin FROM pg_roles WHERE rolname = $1) AS can_login,
              (SELECT oid::int8 FROM pg_roles WHERE rolname = $2) AS role_oid,
              coalesce((SELECT array_agg(m.grantor::int8::text) FROM pg_auth_members m
                         JOIN pg_roles u ON u.oid = m.member JOIN pg_roles g ON g.oid = m.roleid
                        WHERE u.rolname = $1 AND g.rolname = $2), '{}') AS grantors`,
      [login, role],
    );
    const row = result.rows[0];
    if (!row) throw new Error("membership query returned no row");
    return row;
  }

  const currentMembership = (elevation: Elevation) =>
    admin.inDatabase(endpoint.database, (client) => membership(client, elevation));

  /**
   * Revokes the membership unless a live grant other than `except` holds it, then ends the login's sessions that
   * began before the REVOKE when `endAlways` or something was revoked. Returns the holders and whether it revoked.
   */
  async function release(
    handle: string,
    except: string | null,
    endAlways: boolean,
  ): Promise<{ holders: string[]; revoked: boolean; sessions: number[] }> {
    const elevation = parseHandle(target.id, handle);
    const adminOid = String((await admin.adminRole()).oid);
    const outcome = await admin.transaction(async (client) => {
      await lock(client, handle);
      // Read under the lock; see the reasoning at the top of this file.
      const holders = await liveHolders(handle, except);
      const state = await membership(client, elevation);
      if (holders.length > 0 || !state.grantors.includes(adminOid)) {
        return { holders, revoked: false, loginOid: state.login_oid };
      }
      await client.query(`REVOKE ${escapeIdentifier(elevation.role)} FROM ${escapeIdentifier(elevation.login)}`);
      return { holders, revoked: true, loginOid: state.login_oid };
    });
    let sessions: number[] = [];
    if (outcome.holders.length === 0 && outcome.loginOid !== null && (outcome.revoked || endAlways)) {
      // Taken after the COMMIT: a session that begins later cannot SET ROLE to the group any more.
      const now = await admin.query<{ now: string }>("SELECT clock_timestamp()::text AS now");
      sessions = await endSessions(admin, {
        oid: Number(outcome.loginOid),
        startedBefore: now.rows[0]?.now ?? "now",
      });
    }
    return { holders: outcome.holders, revoked: outcome.revoked, sessions };
  }

  return {
    type: "postgres-elevation",
    targetId: target.id,

    validateEntitlement(entitlement) {
      parseElevationEntitlement(entitlement);
    },

    prepare({ identity, entitlement }) {
      const elevation = elevationFor(identity, entitlement);
      return { handle: `${elevation.login}:${elevation.role}`, handleData: { ...elevation } };
    },

    async issue({ grant, identity, entitlement }) {
      const elevation = elevationFor(identity, entitlement);
      if (grant.handle !== `${elevation.login}:${elevation.role}`) {
        throw new Error(
          `targets.${target.id}: the identity's login or the entitlement's role changed since grant ${grant.id} was prepared`,
        );
      }
      const adminOid = String((await admin.adminRole()).oid);
      const loginOid = await admin.transaction(async (client) => {
        await lock(client, grant.handle);
        const state = await membership(client, elevation);
        if (state.login_oid === null || !state.can_login) {
          throw new Error(
            `targets.${target.id}: login ${elevation.login} (identity attribute '${loginAttribute}') does not exist or cannot log in`,
          );
        }
        if (state.role_oid === null)
          throw new Error(`${entitlementPath(entitlement)}.role: no such role in the target`);
        if (state.grantors.some((grantor) => grantor !== adminOid)) {
          // Revoking later would strip a membership the broker never granted.
          throw new Error(
            `targets.${target.id}: ${elevation.login} already holds ${elevation.role} through a grant the broker did not make; nothing to elevate`,
          );
        }
        await client.query(`GRANT ${escapeIdentifier(elevation.role)} TO ${escapeIdentifier(elevation.login)}`);
        return Number(state.login_oid);
      });
      return { credential: credentialOf(endpoint, elevation), handleData: { loginOid } };
    },

    async renew({ grant }) {
      // A membership has no expiry of its own; renewal only confirms it is still there.
      const state = await currentMembership(parseHandle(target.id, grant.handle));
      if (state.grantors.length === 0)
        throw new Error(`targets.${target.id}: the membership ${grant.handle} no longer exists`);
      return { credential: null, handleData: {} };
    },

    async revoke({ grant }) {
      // A grant that was handed out may have been used through SET ROLE: its sessions end even on a retry that finds
      // the membership already revoked. One that never became active only ends sessions if its GRANT had committed.
      const released = await release(grant.handle, grant.id, grant.issuedAt !== null);
      return {
        removed: released.revoked ? [`membership ${grant.handle}`] : [],
        sessionsEnded: { count: released.sessions.length, ids: released.sessions.map((pid) => `pid ${pid}`) },
      };
    },

    async verifyRemoved({ grant }) {
      const elevation = parseHandle(target.id, grant.handle);
      const checkedAt = ctx.clock.now();
      const state = await currentMembership(elevation);
      const holders = await liveHolders(grant.handle, grant.id);
      const { login, role } = elevation;
      const member = state.grantors.length > 0;
      const membershipCheck = !member
        ? check("membership.absent", true, `${login} is not a member of ${role} in pg_auth_members`)
        : holders.length > 0
          ? check(
              "membership.absent",
              true,
              `${login} stays a member of ${role} for live grant(s) ${holders.join(", ")}: memberships are reference-counted and this grant no longer counts`,
            )
          : check("membership.absent", false, `${login} is still a member of ${role} and no other live grant holds it`);
      return evidenceOf(checkedAt, [
        membershipCheck,
        await sessionsCheck(grant, elevation, state, member && holders.length > 0, checkedAt),
      ]);
    },

    async listAccounts() {
      const adminOid = (await admin.adminRole()).oid;
      const [roles, memberships] = await Promise.all([readRoles(admin), readBrokerMemberships(admin, adminOid)]);
      return [...roles.map((row) => accountOf(row, false, endpoint.user)), ...memberships.map(membershipAccount)];
    },

    async removeAccount(handle) {
      const elevation = parseHandle(target.id, handle);
      const adminOid = String((await admin.adminRole()).oid);
      const state = await currentMembership(elevation);
      if (state.grantors.length > 0 && !state.grantors.includes(adminOid)) {
        throw new Error(
          `targets.${target.id}: ${handle} is a membership the broker did not grant; refusing to remove it`,
        );
      }
      if (state.grantors.length === 0) return false;
      return (await release(handle, null, false)).revoked;
    },

    rotateAdminSecret: () => admin.rotate(),
    healthy: () => admin.healthy(),
    close: () => admin.close(),
  };

  /** No session of the login that could have taken the group by SET ROLE before the REVOKE is left. */
  async function sessionsCheck(
    grant: Grant,
    { login, role }: Elevation,
    state: MembershipState,
    heldByOthers: boolean,
    checkedAt: number,
  ): Promise<ReturnType<typeof check>> {
    if (heldByOthers) {
      return check(
        "sessions.none",
        true,
        `sessions of ${login} may act as ${role} only for the live grant(s) still holding it`,
      );
    }
    if (grant.issuedAt === null) {
      return check("sessions.none", true, `the grant never became active, so no session was handed ${role}`);
    }
    const recorded = grant.handleData.loginOid;
    const oid = state.login_oid ?? (typeof recorded === "number" ? recorded : null);
    if (oid === null) return check("sessions.none", true, `login ${login} does not exist, so it has no session`);
    const cutoff = grant.revokedAt ?? checkedAt;
    const open = await admin.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE usesysid = $1 AND backend_start < to_timestamp($2::float8 / 1000)",
      [oid, cutoff],
    );
    const pids = open.rows.map((r) => r.pid);
    return check(
      "sessions.none",
      pids.length === 0,
      pids.length === 0
        ? `no session of ${login} that began before ${iso(cutoff)} is open (pg_stat_activity cannot show which did SET ROLE ${role}, so none may remain)`
        : `${pids.length} session(s) of ${login} that began before ${iso(cutoff)} are still open (pid ${pids.join(", ")}) and may act as ${role}`,
    );
  }
}
