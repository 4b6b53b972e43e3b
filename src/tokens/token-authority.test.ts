// The token authority: key rotation and publication, restart, sealing at rest, refusal of forged tokens, introspection.
import type { KeyObject } from "node:crypto";
import { createPrivateKey, generateKeyPairSync, randomBytes, sign as signBytes } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { failNextApply, memoryStore } from "../storage/testing/memory.js";
import { ManualClock } from "../support/clock.js";
import { Sealer } from "../support/sealer.js";
import type { TokenClaimsInput } from "./signer.js";
import type { AuthorityFixture } from "./testing/authority-fixture.js";
import {
  AUDIENCE,
  authorityFixture,
  ISSUER,
  LEEWAY_SECONDS,
  MAX_LIFETIME_SECONDS,
  ROTATION_SECONDS,
} from "./testing/authority-fixture.js";
import { TokenAuthority } from "./token-authority.js";
import type { TokenRejection } from "./verifier.js";
import { TokenVerificationError } from "./verifier.js";

const INPUT: TokenClaimsInput = {
  aud: AUDIENCE,
  sub: "ci-deploy",
  scope: "orders:read",
  jti: "grt_x",
  ent: "orders-api/read",
};
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

function claimsAt(f: AuthorityFixture, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(f.clock.now() / 1000);
  const base = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: "ci-deploy",
    scope: "orders:read",
    jti: "grt_x",
    ent: "orders-api/read",
  };
  return { ...base, iat: now, nbf: now, exp: now + 300, ...overrides };
}

/** A broker private key, opened from the store as only a thief holding the master key could. */
async function privateKeyOf(f: AuthorityFixture, kid: string): Promise<KeyObject> {
  const row = await f.store.getState("token.keys", kid);
  const sealed = (row?.value as { sealedPrivateKey?: string } | undefined)?.sealedPrivateKey ?? "";
  return createPrivateKey({ key: JSON.parse(f.sealer.open(sealed, `token-key:${kid}`)), format: "jwk" });
}

/** Signs any header and claims with the given key (by default the broker's current key). */
async function forge(f: AuthorityFixture, header: object, claims: object, key?: KeyObject): Promise<string> {
  const signer = key ?? (await privateKeyOf(f, f.authority.currentKid()));
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${signBytes(null, Buffer.from(input), signer).toString("base64url")}`;
}

async function rejection(f: AuthorityFixture, token: string, audience?: string): Promise<TokenRejection> {
  const error = await f.authority.verify(token, audience === undefined ? {} : { audience }).then(
    () => new Error("accepted"),
    (e: unknown) => e,
  );
  if (!(error instanceof TokenVerificationError)) throw error;
  // The refusal names a reason, never the token or any part of it.
  for (const part of token.split(".")) if (part.length > 8) expect(error.message.includes(part)).toBe(false);
  return error.reason;
}

describe("token authority keys", () => {
  it("rotates when due, keeps the retired key published for the maximum lifetime plus leeway, then drops it", async () => {
    const f = await authorityFixture();
    const k1 = f.authority.currentKid();
    expect(await f.authority.rotateIfDue()).toBe(false);

    f.clock.advance((ROTATION_SECONDS - 1) * 1000);
    const old = await f.authority.sign(INPUT, f.clock.now() + 600_000);
    const k1Private = await privateKeyOf(f, k1);
    const forgedLater = async () => forge(f, { alg: "EdDSA", kid: k1, typ: "at+jwt" }, claimsAt(f), k1Private);
    f.clock.advance(1000);
    expect(await f.authority.rotateIfDue()).toBe(true);
    const k2 = f.authority.currentKid();
    expect(k2).not.toBe(k1);
    expect(f.authority.jwks().keys.map((k) => k.kid)).toEqual([k2, k1]);
    expect(f.authority.jwks().keys[0]).toEqual({
      kty: "OKP",
      crv: "Ed25519",
      x: expect.any(String),
      kid: k2,
      alg: "EdDSA",
      use: "sig",
    });
    expect((await f.authority.verify(old.token)).jti).toBe("grt_x");
    expect((await f.authority.sign(INPUT, f.clock.now() + 60_000)).kid).toBe(k2);

    const codes = (await f.store.listAudit(0, 100)).map((e) => [e.code, e.data.kid]);
    expect(codes).toEqual([
      ["token.key_created", k1],
      ["token.key_created", k2],
      ["token.key_retired", k1],
    ]);
    const retired = await f.store.getState("token.keys", k1);
    expect(retired?.value).toMatchObject({ sealedPrivateKey: null, retiredAt: f.clock.now() });
    const until = f.clock.now() + (MAX_LIFETIME_SECONDS + LEEWAY_SECONDS) * 1000;
    expect(retired?.expiresAt).toBe(until);

    // Until the window closes, a token signed by the retired key still verifies...
    f.clock.set(until - 1000);
    expect(f.authority.jwks().keys.map((k) => k.kid)).toEqual([k2, k1]);
    await expect(f.authority.verify(await forgedLater())).resolves.toMatchObject({ sub: "ci-deploy" });
    // ...and after it, the key is gone from the JWKS and refused even for a token that claims to be fresh.
    f.clock.set(until);
    expect(f.authority.jwks().keys.map((k) => k.kid)).toEqual([k2]);
    expect(await rejection(f, await forgedLater())).toBe("unknown_key");
    expect(await f.store.purgeExpiredState(f.clock.now())).toBe(1);
    expect(await f.store.getState("token.keys", k1)).toBeNull();
  });

  it("reuses the stored keys after a restart", async () => {
    const f = await authorityFixture();
    const token = await f.authority.sign(INPUT, f.clock.now() + 60_000);
    const restarted = await authorityFixture({ store: f.store, clock: f.clock, sealer: f.sealer });
    expect(restarted.authority.currentKid()).toBe(f.authority.currentKid());
    expect(restarted.authority.jwks()).toEqual(f.authority.jwks());
    expect((await restarted.authority.verify(token.token)).jti).toBe("grt_x");
    expect((await f.store.listAudit(0, 100)).filter((e) => e.code === "token.key_created")).toHaveLength(1);
  });

  it("picks up a key another replica made when a token names it", async () => {
    const f = await authorityFixture();
    const other = await authorityFixture({ store: f.store, clock: f.clock, sealer: f.sealer });
    f.clock.advance(10_000);
    await other.authority.rotate("test");
    const token = await other.authority.sign(INPUT, f.clock.now() + 60_000);
    expect((await f.authority.verify(token.token)).jti).toBe("grt_x");
  });

  /** An authority on a shared store, as another replica would build it; not initialised. */
  function replica(f: {
    store: AuthorityFixture["store"];
    clock: AuthorityFixture["clock"];
    sealer: AuthorityFixture["sealer"];
  }) {
    return new TokenAuthority({
      issuer: ISSUER,
      store: f.store,
      sealer: f.sealer,
      clock: f.clock,
      rotationIntervalSeconds: ROTATION_SECONDS,
      maxTokenLifetimeSeconds: MAX_LIFETIME_SECONDS,
      leewaySeconds: LEEWAY_SECONDS,
      publishAheadSeconds: 20,
    });
  }

  it("replicas starting together on an empty store make one key between them", async () => {
    const store = memoryStore();
    const shared = { store, clock: new ManualClock(), sealer: new Sealer(randomBytes(32)) };
    const replicas = [replica(shared), replica(shared), replica(shared)];
    await Promise.all(replicas.map((r) => r.init()));
    expect(new Set(replicas.map((r) => r.currentKid())).size).toBe(1);
    expect((await store.listAudit(0, 100)).filter((e) => e.code === "token.key_created")).toHaveLength(1);
  });

  it("with replicas, a rotated key is published ahead, every replica switches at its activation, and only one rotates", async () => {
    const store = memoryStore();
    const shared = { store, clock: new ManualClock(), sealer: new Sealer(randomBytes(32)) };
    const [a, b] = [replica(shared), replica(shared)];
    await a.init();
    await b.init();
    const k1 = a.currentKid();
    shared.clock.advance(ROTATION_SECONDS * 1000);
    expect(await Promise.all([a.rotateIfDue(), b.rotateIfDue()])).toContain(true);
    expect((await store.listAudit(0, 100)).filter((e) => e.code === "token.key_created")).toHaveLength(2);
    await b.refresh();
    const k2 = a.jwks().keys.find((k) => k.kid !== k1)!.kid;
    // Published on both replicas, signing on neither yet.
    for (const r of [a, b]) {
      expect(
        r
          .jwks()
          .keys.map((k) => k.kid)
          .sort(),
      ).toEqual([k1, k2].sort());
      expect(r.currentKid()).toBe(k1);
    }
    shared.clock.advance(20_000);
    // At activation both sign with the new key, without reloading anything.
    expect([a.currentKid(), b.currentKid()]).toEqual([k2, k2]);
    expect((await b.verify((await a.sign(INPUT, shared.clock.now() + 60_000)).token)).jti).toBe("grt_x");
    // The next pass destroys the retired key's private half, once, and audits the retirement.
    await Promise.all([a.rotateIfDue(), b.rotateIfDue()]);
    expect((await store.getState("token.keys", k1))?.value).toMatchObject({ sealedPrivateKey: null });
    expect(
      (await store.listAudit(0, 100)).filter((e) => e.code === "token.key_retired").map((e) => e.data.kid),
    ).toEqual([k1]);
  });

  it("never stores a private key in plaintext", async () => {
    const f = await authorityFixture();
    const rows = await f.store.listState("token.keys");
    const text = JSON.stringify(rows);
    expect(text).not.toMatch(/"d"\s*:/);
    expect(text).not.toContain("PRIVATE KEY");
    const record = rows[0]?.value as { kid: string; sealedPrivateKey: string; publicJwk: Record<string, unknown> };
    expect(Object.keys(record.publicJwk).sort()).toEqual(["crv", "kty", "x"]);
    const privateJwk = JSON.parse(f.sealer.open(record.sealedPrivateKey, `token-key:${record.kid}`)) as { d: string };
    expect(text).not.toContain(privateJwk.d);
    // The seal is bound to its kid: a row copied under another kid does not open.
    expect(() => f.sealer.open(record.sealedPrivateKey, "token-key:other")).toThrow();
  });
});

describe("token verification refuses", () => {
  it("accepts a well-formed token from the forge helper (so the refusals below are meaningful)", async () => {
    const f = await authorityFixture();
    const token = await forge(f, { alg: "EdDSA", kid: f.authority.currentKid(), typ: "at+jwt" }, claimsAt(f));
    await expect(f.authority.verify(token, { audience: AUDIENCE })).resolves.toMatchObject({ aud: AUDIENCE });
  });

  it("alg none, HS256 keyed with the public key, and other algorithms", async () => {
    const f = await authorityFixture();
    const kid = f.authority.currentKid();
    const claims = claimsAt(f);
    expect(await rejection(f, `${b64({ alg: "none", kid, typ: "at+jwt" })}.${b64(claims)}.`)).toBe(
      "unsupported_header",
    );
    const jwk = f.authority.jwks().keys[0]!;
    for (const secret of [Buffer.from(jwk.x, "base64url"), Buffer.from(JSON.stringify(jwk))]) {
      const hs = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid, typ: "at+jwt" }).sign(secret);
      expect(await rejection(f, hs)).toBe("unsupported_header");
    }
    const es = await generateKeyPair("ES256");
    const es256 = await new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid, typ: "at+jwt" })
      .sign(es.privateKey);
    expect(await rejection(f, es256)).toBe("unsupported_header");
  });

  it("keys the token names itself (jwk, jku, x5u, x5c) and unknown crit, even with a real kid", async () => {
    const f = await authorityFixture();
    const kid = f.authority.currentKid();
    const attacker = generateKeyPairSync("ed25519");
    const attackerJwk = await exportJWK(attacker.publicKey);
    for (const extra of [{ jwk: attackerJwk }, { jwk: attackerJwk, kid }]) {
      const token = await forge(f, { alg: "EdDSA", typ: "at+jwt", ...extra }, claimsAt(f), attacker.privateKey);
      expect(await rejection(f, token)).toBe("unsupported_header");
    }
    for (const extra of [
      { jku: "https://evil.test/jwks" },
      { x5u: "https://evil.test/c" },
      { x5c: ["MIIB"] },
      { crit: ["exp"], exp: 1 },
    ]) {
      const token = await forge(f, { alg: "EdDSA", kid, typ: "at+jwt", ...extra }, claimsAt(f));
      expect(await rejection(f, token)).toBe("unsupported_header");
    }
  });

  it("an unknown kid, a tampered payload and a wrong typ", async () => {
    const f = await authorityFixture();
    const attacker = generateKeyPairSync("ed25519");
    const unknown = await forge(f, { alg: "EdDSA", kid: "nope", typ: "at+jwt" }, claimsAt(f), attacker.privateKey);
    expect(await rejection(f, unknown)).toBe("unknown_key");

    const real = await f.authority.sign(INPUT, f.clock.now() + 60_000);
    const [header, , signature] = real.token.split(".");
    const tampered = `${header}.${b64({ ...real.claims, scope: "orders:admin" })}.${signature}`;
    expect(await rejection(f, tampered)).toBe("bad_signature");

    const jwt = await forge(f, { alg: "EdDSA", kid: f.authority.currentKid(), typ: "JWT" }, claimsAt(f));
    expect(await rejection(f, jwt)).toBe("wrong_type");
    expect(await rejection(f, "not.a.jwt")).toBe("malformed");
    expect(await rejection(f, "")).toBe("malformed");
  });

  it("a wrong issuer or audience, an expired token, a token not yet valid, missing claims", async () => {
    const f = await authorityFixture();
    const elsewhere = new TokenAuthority({
      issuer: "https://evil.test",
      store: f.store,
      sealer: f.sealer,
      clock: f.clock,
      rotationIntervalSeconds: ROTATION_SECONDS,
      maxTokenLifetimeSeconds: MAX_LIFETIME_SECONDS,
    });
    await elsewhere.init();
    const foreign = await elsewhere.sign(INPUT, f.clock.now() + 60_000);
    expect(await rejection(f, foreign.token)).toBe("wrong_issuer");

    const token = await f.authority.sign(INPUT, f.clock.now() + 60_000);
    expect(await rejection(f, token.token, "https://other.internal")).toBe("wrong_audience");
    f.clock.advance(60_000);
    expect(await rejection(f, token.token)).toBe("expired");

    const kid = f.authority.currentKid();
    const header = { alg: "EdDSA", kid, typ: "at+jwt" };
    const now = Math.floor(f.clock.now() / 1000);
    expect(await rejection(f, await forge(f, header, claimsAt(f, { nbf: now + 120 })))).toBe("not_yet_valid");
    expect(await rejection(f, await forge(f, header, claimsAt(f, { iat: now - 100_000 })))).toBe("expired");
    expect(await rejection(f, await forge(f, header, claimsAt(f, { scope: undefined })))).toBe("bad_claims");
    expect(await rejection(f, await forge(f, header, claimsAt(f, { jti: undefined })))).toBe("bad_claims");
  });
});

describe("token introspection and revocation", () => {
  it("answers RFC 7662 for an active token and only { active: false } otherwise", async () => {
    const f = await authorityFixture();
    const signed = await f.authority.sign(INPUT, f.clock.now() + 60_000);
    const c = signed.claims;
    expect(await f.authority.introspect(signed.token, async () => true)).toEqual({
      active: true,
      scope: c.scope,
      sub: c.sub,
      aud: c.aud,
      iss: c.iss,
      exp: c.exp,
      iat: c.iat,
      nbf: c.nbf,
      jti: c.jti,
      token_type: "Bearer",
      ent: c.ent,
    });
    expect(await f.authority.introspect(signed.token, async () => false)).toEqual({ active: false });
    expect(await f.authority.introspect("garbage", async () => true)).toEqual({ active: false });
    await f.authority.revoke({ jti: c.jti, expiresAt: c.exp * 1000, grantId: null, identityId: null });
    expect(await f.authority.introspect(signed.token, async () => true)).toEqual({ active: false });
  });

  it("leaves the deny-list unchanged when the store refuses the write", async () => {
    const f = await authorityFixture();
    failNextApply(f.store);
    await expect(
      f.authority.revoke({ jti: "grt_y", expiresAt: f.clock.now(), grantId: null, identityId: null }),
    ).rejects.toThrow();
    expect(await f.authority.isRevoked("grt_y")).toBe(false);
  });
});

describe("token verification under failure", () => {
  it("treats any garbage as a malformed token, never as a crash", async () => {
    const f = await authorityFixture();
    for (const junk of [
      "a.b.c",
      "...",
      "eyJ.eyJ.x",
      `${b64([1])}.${b64({})}.x`,
      `${b64("s")}.e30.`,
      "x".repeat(9000),
    ]) {
      expect(await rejection(f, junk)).toBe("malformed");
      expect(await f.authority.introspect(junk, async () => true)).toEqual({ active: false });
    }
  });

  it("throws a store outage from introspection instead of answering inactive", async () => {
    const f = await authorityFixture();
    const attacker = generateKeyPairSync("ed25519");
    const token = await forge(
      f,
      { alg: "EdDSA", kid: "from-another-replica", typ: "at+jwt" },
      claimsAt(f),
      attacker.privateKey,
    );
    f.clock.advance(10_000);
    f.store.listState = async () => {
      throw new Error("store down");
    };
    await expect(f.authority.introspect(token, async () => true)).rejects.toThrow("store down");
  });
});
