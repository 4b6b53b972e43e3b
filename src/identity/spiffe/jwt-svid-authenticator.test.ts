// JWT-SVIDs: the subject's trust domain picks the bundle, and only that bundle's keys verify; the audience names the broker.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteStore, type SqliteStore } from "../../storage/sqlite/index.js";
import { ManualClock } from "../../support/clock.js";
import { silentLogger } from "../../support/logger.js";
import { IdentityRegistry } from "../registry.js";
import { makeKey, signCompact } from "../testing/test-issuer.js";
import { createSpiffeJwtAuthenticator, parseSpiffeJwtSettings } from "./jwt-svid-authenticator.js";
import { parseSpiffeId } from "./spiffe-id.js";

describe("SPIFFE IDs", () => {
  it.each([
    ["spiffe://example.org/ns/prod/sa/api", true],
    ["spiffe://example.org", true],
    ["spiffe://Example.org/x", false],
    ["spiffe://example.org:443/x", false],
    ["spiffe://example.org/../x", false],
    ["spiffe://example.org/x?y=1", false],
    ["spiffe://example.org//x", false],
    ["https://example.org/x", false],
    ["spiffe://user@example.org/x", false],
  ])("%s → %s", (text, ok) => {
    expect(parseSpiffeId(text) !== null).toBe(ok);
  });
});

describe("JWT-SVID authenticator", () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-svid-"));
    store = await openSqliteStore(join(dir, "t.db"));
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("admits an SVID of a configured trust domain by its SPIFFE ID and refuses one signed by another domain's key", async () => {
    const prod = await makeKey("prod-1", "ES256");
    const staging = await makeKey("staging-1", "ES256");
    const bundle = (key: typeof prod) =>
      JSON.stringify({
        keys: [
          { ...key.publicJwk, use: "jwt-svid" },
          { kty: "EC", crv: "P-256", x: key.publicJwk.x, y: key.publicJwk.y, use: "x509-svid", x5c: ["MIIB"] },
        ],
      });
    const files: Record<string, string> = { "prod.json": bundle(prod), "staging.json": bundle(staging) };
    const problems: string[] = [];
    const settings = parseSpiffeJwtSettings(
      {
        type: "spiffe-jwt",
        name: "mesh",
        audience: "ephemera",
        trustDomains: {
          "prod.example.org": { bundle: { file: "prod.json" } },
          "staging.example.org": { bundle: { file: "staging.json" } },
        },
        rules: [
          {
            match: { spiffe_id: "spiffe://prod.example.org/ns/payments/sa/deployer" },
            identity: "payments-deployer",
            owner: "team-payments",
          },
        ],
      },
      { at: "authenticators.1", identities: new Map(), problems, readFile: (p) => files[p] ?? null },
    );
    expect(problems).toEqual([]);
    const clock = new ManualClock(Date.now());
    const auth = createSpiffeJwtAuthenticator(
      { ...settings, name: "mesh" },
      { registry: new IdentityRegistry(store, clock, silentLogger()), clock, logger: silentLogger() },
    );
    const now = Math.floor(clock.now() / 1000);
    const svid = (sub: string, key: typeof prod, extra: Record<string, unknown> = {}) =>
      signCompact(
        { alg: "ES256", kid: key.kid, typ: "JWT" },
        { sub, aud: ["ephemera"], exp: now + 300, ...extra },
        key,
      );
    const id = "spiffe://prod.example.org/ns/payments/sa/deployer";

    const ok = await auth.authenticate({ authorization: `Bearer ${svid(id, prod)}` });
    expect(ok).toMatchObject({
      ok: true,
      method: "spiffe_jwt",
      identity: { id: "payments-deployer", kind: "workload" },
      claims: { spiffe_id: id, trust_domain: "prod.example.org", spiffe_path: "/ns/payments/sa/deployer" },
    });
    // Staging's key, with staging's kid, claiming a prod ID: prod's bundle has no such key.
    expect((await auth.authenticate({ authorization: `Bearer ${svid(id, staging)}` })).ok).toBe(false);
    expect((await auth.authenticate({ authorization: `Bearer ${svid(id, prod, { aud: "other" })}` })).ok).toBe(false);
    // An SVID of an unconfigured trust domain is not this authenticator's at all.
    expect(auth.accepts({ authorization: `Bearer ${svid("spiffe://evil.org/x", prod)}` })).toBe(false);
    // Valid signature, but no rule for this workload.
    const other = await auth.authenticate({
      authorization: `Bearer ${svid("spiffe://staging.example.org/x", staging)}`,
    });
    expect(other).toMatchObject({ ok: false, reason: expect.stringContaining("no trust rule") });
  });

  it("names the path of a bad trust domain or bundle", () => {
    const problems: string[] = [];
    parseSpiffeJwtSettings(
      {
        type: "spiffe-jwt",
        audience: "ephemera",
        trustDomains: { "Bad Domain": { bundle: { file: "none.json" } }, "ok.org": {} },
        rules: [{ match: { spiffe_id: "spiffe://ok.org/x" }, identity: "x", owner: "o" }],
      },
      {
        at: "authenticators.0",
        identities: new Map(),
        problems,
        readFile: (p, at) => {
          problems.push(`${at}: cannot read ${p}: ENOENT`);
          return null;
        },
      },
    );
    expect(problems.join("\n")).toContain("authenticators.0.trustDomains.Bad Domain: is not a trust domain name");
    expect(problems.join("\n")).toContain("authenticators.0.trustDomains.Bad Domain.bundle.file: cannot read");
    expect(problems.join("\n")).toContain("authenticators.0.trustDomains.ok.org.bundle: required");
  });
});
