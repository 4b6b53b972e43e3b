// The postgres connector with a dedicated, non-superuser admin (CREATEROLE + pg_signal_backend): everything works
// with those rights alone, and the admin password rotates crash-safely. This server authenticates 127.0.0.1 with
// trust, so "the old password is refused" cannot be observed by logging in; instead the test reads pg_authid and
// proves which password its SCRAM verifier was made from.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Connector } from "../connector.js";
import { AdminSecret } from "../support/admin-secret.js";
import { activeGrant } from "../testing/contract.js";
import { connectorContext, entitlement, grantFor, type TestContext, testIdentity } from "../testing/target-fixture.js";
import { PgAdmin } from "./admin-connection.js";
import { createPostgresConnector } from "./index.js";
import { scramVerifierMatches } from "./scram.js";
import { parsePostgresTarget } from "./settings.js";
import { pgClient, postgresUp, randomToken, Superuser } from "./testing/fixture.js";

const up = await postgresUp();
const tag = randomToken(6);
const prefix = `eph_r${tag}_`;
const adminLogin = `${prefix}admin`;
const group = `${prefix}group`;
const schema = `${prefix}schema`;
const initial = `initial${randomToken(24)}`;
const su = new Superuser();
const connectors: Connector[] = [];

const settingsOf = () => ({ url: `postgres://${adminLogin}@127.0.0.1:5432/test`, password: initial, prefix });
const spec = entitlement("rot-db", "write", { roles: [group] });

function connectorFor(ctx: TestContext): Connector {
  const connector = createPostgresConnector({ id: "rot-db", type: "postgres", settings: settingsOf() }, ctx);
  connectors.push(connector);
  return connector;
}
const storedSecret = (ctx: TestContext) =>
  new AdminSecret({ targetId: "rot-db", store: ctx.store, sealer: ctx.sealer, clock: ctx.clock, configured: initial });
const verifierOfAdmin = async () =>
  (await su.query<{ rolpassword: string }>("SELECT rolpassword FROM pg_authid WHERE rolname = $1", [adminLogin]))
    .rows[0]?.rolpassword ?? "";

/** Issue, use, revoke and verify: the broker works with the admin secret it holds now. */
async function roundTrip(connector: Connector): Promise<void> {
  const grant = grantFor(connector, spec);
  const response = await connector.issue({
    grant,
    identity: testIdentity,
    entitlement: spec,
    expiresAt: grant.expiresAt,
  });
  const fields = response.credential.fields.reveal() as Record<string, string>;
  // The role makes a table, so removal takes the REASSIGN OWNED path (which needs membership for a CREATEROLE admin).
  const client = pgClient({ user: grant.handle, password: fields.password ?? "" });
  await client.connect();
  await client.query(`CREATE TABLE ${schema}.t_${randomToken(6)} (x int)`);
  await client.end();
  const active = activeGrant(grant, response);
  await connector.revoke({ grant: active });
  const result = await connector.verifyRemoved({ grant: active, probe: response.probe ?? null });
  expect(result.removed, JSON.stringify(result.evidence)).toBe(true);
}

describe.skipIf(!up)("postgres connector with a dedicated CREATEROLE admin", () => {
  beforeAll(async () => {
    await su.query(`CREATE ROLE ${adminLogin} LOGIN CREATEROLE PASSWORD '${initial}' IN ROLE pg_signal_backend`);
    await su.query(`CREATE ROLE ${group} NOLOGIN`);
    await su.query(`CREATE SCHEMA ${schema}`);
    await su.query(`GRANT USAGE, CREATE ON SCHEMA ${schema} TO ${group}, ${adminLogin}`);
  });
  afterAll(async () => {
    for (const connector of connectors) await connector.close();
    await su.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await su.dropRolesLike(prefix);
    await su.close();
  });

  it("issues, ends sessions, reassigns owned objects and drops roles without superuser", async () => {
    const connector = connectorFor(connectorContext());
    await roundTrip(connector);
    const accounts = await connector.listAccounts();
    expect(accounts.find((a) => a.handle === adminLogin)).toMatchObject({
      broker: true,
      admin: true,
      // Membership in the orphan owner comes from the first removal that reassigned objects.
      privileges: expect.arrayContaining(["createrole", "member of pg_signal_backend"]),
    });
  });

  it("rotates: a new secret is stored and set in pg_authid, the old one no longer matches, the broker keeps working", async () => {
    const ctx = connectorContext();
    const connector = connectorFor(ctx);
    expect(await connector.healthy()).toBe(true);
    const before = await verifierOfAdmin();
    expect(await scramVerifierMatches(before, initial)).toBe(true);

    const rotated = await connector.rotateAdminSecret();
    const current = (await storedSecret(ctx).current()).reveal();
    expect(rotated.rotated).toBe(true);
    expect(rotated.detail).toContain(`password of PostgreSQL role ${adminLogin} replaced`);
    expect(rotated.detail).not.toContain(current);
    expect(current).not.toBe(initial);
    expect(current).toMatch(/^[0-9a-z]{32}$/);
    const after = await verifierOfAdmin();
    expect(after).not.toBe(before);
    expect(await scramVerifierMatches(after, current)).toBe(true);
    // With password authentication the old secret would now be refused: the stored verifier is not made from it.
    expect(await scramVerifierMatches(after, initial)).toBe(false);
    expect(await storedSecret(ctx).rotatedAt()).not.toBeNull();
    await roundTrip(connector);

    // Rotating again starts from the rotated secret, not the configured one.
    await connector.rotateAdminSecret();
    const third = (await storedSecret(ctx).current()).reveal();
    expect(third).not.toBe(current);
    expect(await scramVerifierMatches(await verifierOfAdmin(), third)).toBe(true);
    await roundTrip(connector);
  });

  it("a crash after the new password was set: the next start settles on the pending secret, which works", async () => {
    const ctx = connectorContext();
    const secret = storedSecret(ctx);
    const admin = new PgAdmin({
      targetId: "rot-db",
      settings: parsePostgresTarget("rot-db", settingsOf()),
      secret,
      logger: ctx.logger,
    });
    const steps = admin.rotationSteps();
    await expect(
      secret.rotate({
        ...steps,
        apply: async (next, current) => {
          await steps.apply(next, current);
          throw new Error("broker crashed right after ALTER ROLE");
        },
      }),
    ).rejects.toThrow("broker crashed");
    await admin.close();
    const state = (await ctx.store.getState("admin-secret", "rot-db"))?.value as { pending: string | null };
    expect(state.pending).not.toBeNull();
    const pending = ctx.sealer.open(state.pending ?? "", "admin-secret:rot-db");
    expect(await scramVerifierMatches(await verifierOfAdmin(), pending)).toBe(true);

    // A fresh connector on the same store, as after a restart: its first use settles the rotation.
    const restarted = connectorFor(ctx);
    expect(await restarted.healthy()).toBe(true);
    const settled = (await ctx.store.getState("admin-secret", "rot-db"))?.value as { pending: string | null };
    expect(settled.pending).toBeNull();
    expect((await secret.current()).reveal()).toBe(pending);
    expect(await scramVerifierMatches(await verifierOfAdmin(), (await secret.current()).reveal())).toBe(true);
    await roundTrip(restarted);
  });
});
