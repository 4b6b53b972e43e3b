import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { dpopProver, generateDpopKey, loadDpopKeyFile } from "./dpop.js";

const dir = mkdtempSync(join(tmpdir(), "dpop-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("DPoP proofs", () => {
  it("signs a fresh dpop+jwt for the method and URL (no query), with ath for an access token", async () => {
    const prover = await dpopProver(await generateDpopKey());
    const proof = await prover.proof("post", "https://broker.example/v1/requests?x=1#f", "the-token");
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: "dpop+jwt" });
    expect(payload).toMatchObject({
      htm: "POST",
      htu: "https://broker.example/v1/requests",
      ath: createHash("sha256").update("the-token").digest("base64url"),
    });
    expect(Math.abs((payload.iat ?? 0) - Date.now() / 1000)).toBeLessThan(5);
    expect(protectedHeader.jwk).not.toHaveProperty("d");
    expect(await calculateJwkThumbprint(protectedHeader.jwk ?? {}, "sha256")).toBe(prover.jkt);
    const again = await prover.proof("POST", "https://broker.example/v1/requests");
    expect((await jwtVerify(again, EmbeddedJWK)).payload.jti).not.toBe(payload.jti);
    expect(decodeProtectedHeader(again).alg).toBe("ES256");
  });

  it("loadDpopKeyFile makes a 0600 key once and reads the same key afterwards; a public key is refused", async () => {
    const path = join(dir, "key.jwk");
    const made = await loadDpopKeyFile(path, { create: true });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect((await loadDpopKeyFile(path)).jkt).toBe(made.jkt);
    await expect(loadDpopKeyFile(join(dir, "absent.jwk"))).rejects.toThrow(/cannot read \(ENOENT\)/);
    const { d: _d, ...publicJwk } = JSON.parse(readFileSync(path, "utf8"));
    await expect(dpopProver(publicJwk)).rejects.toThrow(/private key/);
  });
});
