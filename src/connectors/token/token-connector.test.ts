// The token connector: the shared connector contract, then the claims, settings and removal evidence specific to tokens.
import { decodeJwt, decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { memoryStore } from "../../storage/testing/memory.js";
import { silentLogger } from "../../support/logger.js";
import { AUDIENCE, ISSUER, MAX_LIFETIME_SECONDS } from "../../tokens/testing/authority-fixture.js";
import { describeConnectorContract } from "../testing/contract.js";
import { contractSubject, tokenFixture } from "../testing/token-fixture.js";
import { createTokenConnector } from "./token-connector.js";

describeConnectorContract("token", async () => {
  const f = await tokenFixture();
  return contractSubject(f);
});

describe("token connector", () => {
  it("binds a token to a proven key: cnf.jkt in the token, kept by renewal, reported by introspection as DPoP", async () => {
    const f = await tokenFixture();
    const grant = f.makeGrant();
    const binding = {
      jkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
      publicJwk: { kty: "OKP", crv: "Ed25519", x: "x" },
    };
    const issued = await f.connector.issue({
      grant,
      identity: f.identity,
      entitlement: f.entitlement,
      expiresAt: grant.expiresAt,
      binding,
    });
    expect(issued.handleData).toMatchObject({ jkt: binding.jkt });
    expect(decodeJwt(f.tokenOf(issued.credential)).cnf).toEqual({ jkt: binding.jkt });
    expect(issued.credential.fields.reveal().tokenType).toBe("DPoP");
    const active = { ...grant, state: "active" as const, handleData: { ...grant.handleData, ...issued.handleData } };
    const renewed = await f.connector.renew({
      grant: active,
      identity: f.identity,
      entitlement: f.entitlement,
      expiresAt: grant.expiresAt + 60_000,
    });
    const token = f.tokenOf(renewed.credential ?? issued.credential);
    expect(decodeJwt(token).cnf).toEqual({ jkt: binding.jkt });
    expect(await f.authority.introspect(token, async () => true)).toMatchObject({
      active: true,
      token_type: "DPoP",
      cnf: { jkt: binding.jkt },
    });
  });

  it("issues a JWT with exactly the specified header and claims", async () => {
    const f = await tokenFixture();
    const grant = f.makeGrant();
    const issued = await f.connector.issue({
      grant,
      identity: f.identity,
      entitlement: f.entitlement,
      expiresAt: grant.expiresAt + 999,
    });
    const token = f.tokenOf(issued.credential);
    const now = Math.floor(f.clock.now() / 1000);
    const exp = Math.floor((grant.expiresAt + 999) / 1000);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "EdDSA", kid: f.authority.currentKid(), typ: "at+jwt" });
    expect(decodeJwt(token)).toEqual({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: "ci-deploy",
      scope: "orders:read orders/list",
      jti: grant.id,
      ent: "orders-api/read",
      iat: now,
      nbf: now,
      exp,
    });
    expect(issued.credential.fields.reveal()).toEqual({
      token,
      tokenType: "Bearer",
      expiresAt: new Date(exp * 1000).toISOString(),
    });
    expect(issued.credential.env.reveal()).toEqual({ EPHEMERA_ACCESS_TOKEN: token });
    expect(issued.handleData).toEqual({ kid: f.authority.currentKid() });
    expect(f.connector.prepare({ grantId: grant.id, identity: f.identity, entitlement: f.entitlement })).toEqual({
      handle: grant.id,
      handleData: {},
    });
  });

  it("renew signs a fresh token with the same jti and the new expiry", async () => {
    const f = await tokenFixture();
    const grant = f.makeGrant();
    await f.connector.issue({ grant, identity: f.identity, entitlement: f.entitlement, expiresAt: grant.expiresAt });
    f.clock.advance(10_000);
    const later = grant.expiresAt + 120_000;
    const renewed = await f.connector.renew({
      grant,
      identity: f.identity,
      entitlement: f.entitlement,
      expiresAt: later,
    });
    expect(renewed.credential).not.toBeNull();
    const claims = decodeJwt(f.tokenOf(renewed.credential!));
    expect(claims.jti).toBe(grant.id);
    expect(claims.exp).toBe(Math.floor(later / 1000));
    expect(claims.iat).toBe(Math.floor(f.clock.now() / 1000));
  });

  it("validates target and entitlement settings with messages naming the path", async () => {
    const f = await tokenFixture();
    const ctx = {
      store: f.store,
      clock: f.clock,
      sealer: f.sealer,
      logger: silentLogger(),
      tokenAuthority: f.authority,
    };
    for (const settings of [{}, { audience: "" }, { audience: 7 }]) {
      expect(() => createTokenConnector({ id: "api", type: "token", settings }, ctx)).toThrow(
        "targets.api.audience: must be a non-empty string",
      );
    }
    const bad = (settings: Record<string, unknown>) => ({ ...f.entitlement, settings });
    expect(() => f.connector.validateEntitlement(bad({}))).toThrow(
      "targets.orders-api.entitlements.read.scopes: must be a non-empty list",
    );
    expect(() => f.connector.validateEntitlement(bad({ scopes: [] }))).toThrow(/entitlements\.read\.scopes: must be/);
    expect(() => f.connector.validateEntitlement(bad({ scopes: ["ok", "two words"] }))).toThrow(
      /entitlements\.read\.scopes\[1\]: must be 1-128 characters/,
    );
    expect(() => f.connector.validateEntitlement(bad({ scopes: ["x".repeat(129)] }))).toThrow(/scopes\[0\]/);
    expect(() => f.connector.validateEntitlement(bad({ scopes: ['a"b'] }))).toThrow(/scopes\[0\]/);
    expect(() =>
      f.connector.validateEntitlement({ ...f.entitlement, maxDurationSeconds: MAX_LIFETIME_SECONDS + 1 }),
    ).toThrow(/entitlements\.read\.maxDuration: must not exceed/);
    f.connector.validateEntitlement({ ...f.entitlement, settings: { scopes: ["a.b:c/d-e_f"] } });
  });

  it("refuses to sign a token that would outlive the key publication window", async () => {
    const f = await tokenFixture();
    const grant = f.makeGrant();
    const tooLate = f.clock.now() + (MAX_LIFETIME_SECONDS + 5) * 1000;
    await expect(
      f.connector.issue({ grant, identity: f.identity, entitlement: f.entitlement, expiresAt: tooLate }),
    ).rejects.toThrow(/above the token authority's maximum/);
  });

  it("verifyRemoved reads the deny-list from the store, not this replica's cache", async () => {
    const store = memoryStore();
    const replicaA = await tokenFixture({ store });
    const replicaB = await tokenFixture({ store, clock: replicaA.clock, sealer: replicaA.sealer });
    const grant = replicaA.makeGrant();
    const issued = await replicaA.connector.issue({
      grant,
      identity: replicaA.identity,
      entitlement: replicaA.entitlement,
      expiresAt: grant.expiresAt,
    });
    expect((await replicaB.connector.verifyRemoved({ grant, probe: null })).removed).toBe(false);
    await replicaA.connector.revoke({ grant });
    const result = await replicaB.connector.verifyRemoved({ grant, probe: null });
    expect(result.removed).toBe(true);
    expect(result.evidence.checks).toEqual([expect.objectContaining({ check: "token.denylist", passed: true })]);
    expect((await replicaB.authority.introspect(replicaB.tokenOf(issued.credential), async () => true)).active).toBe(
      false,
    );
  });

  it("counts a token past every possible exp as removed, and says so in the evidence", async () => {
    const f = await tokenFixture();
    const grant = f.makeGrant();
    await f.connector.issue({ grant, identity: f.identity, entitlement: f.entitlement, expiresAt: grant.expiresAt });
    f.clock.set(grant.maxExpiresAt);
    const result = await f.connector.verifyRemoved({ grant, probe: null });
    expect(result.removed).toBe(true);
    expect(result.evidence.checks).toEqual([expect.objectContaining({ check: "token.expiry", passed: true })]);
  });

  it("audits revocation once: concurrent and repeated revokes write nothing more", async () => {
    const f = await tokenFixture();
    const store = f.store;
    const grant = f.makeGrant();
    await Promise.all([f.connector.revoke({ grant }), f.connector.revoke({ grant })]);
    await f.connector.revoke({ grant });
    const revoked = (await store.listAudit(0, 100)).filter((e) => e.code === "token.revoked");
    expect(revoked).toHaveLength(1);
    expect(revoked[0]).toMatchObject({
      grantId: grant.id,
      identityId: "ci-deploy",
      actor: { type: "system", id: "token-authority" },
    });
    const row = await store.getState("token.revoked", grant.id);
    expect(row?.expiresAt).toBeGreaterThanOrEqual(grant.maxExpiresAt);
  });

  it("lists no accounts, is healthy once initialised, and rotates the signing key as its admin secret", async () => {
    const f = await tokenFixture();
    expect(await f.connector.listAccounts()).toEqual([]);
    expect(await f.connector.healthy()).toBe(true);
    const before = f.authority.currentKid();
    const rotated = await f.connector.rotateAdminSecret();
    expect(rotated.rotated).toBe(true);
    expect(f.authority.currentKid()).not.toBe(before);
    expect(f.authority.jwks().keys.map((k) => k.kid)).toEqual([f.authority.currentKid(), before]);
  });
});
