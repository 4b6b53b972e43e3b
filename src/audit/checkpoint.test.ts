import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  type CheckpointBody,
  type CheckpointPublicJwk,
  checkpointSignatureValid,
  keyIdOf,
  parseCheckpoint,
  parsePublicKey,
  signCheckpoint,
} from "./checkpoint.js";

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const jwk = publicKey.export({ format: "jwk" });
  const publicJwk: CheckpointPublicJwk = { kty: "OKP", crv: "Ed25519", x: String(jwk.x) };
  return { privateKey, publicKey, publicJwk };
}

function body(keyId: string): CheckpointBody {
  return {
    version: 1,
    seq: 10,
    headHash: "a".repeat(64),
    fromSeq: 1,
    merkleRoot: "b".repeat(64),
    prevCheckpoint: null,
    time: "2026-01-01T00:00:00.000Z",
    keyId,
  };
}

describe("checkpoint signatures", () => {
  it("verify with the signing key, and fail when any signed field changes or another key is pinned", () => {
    const k = keyPair();
    const signed = signCheckpoint(body(keyIdOf(k.publicJwk)), k.privateKey);
    expect(checkpointSignatureValid(signed, k.publicJwk)).toBe(true);
    const changes: Partial<CheckpointBody>[] = [
      { seq: 11 },
      { headHash: "c".repeat(64) },
      { fromSeq: 2 },
      { merkleRoot: "c".repeat(64) },
      { prevCheckpoint: "c".repeat(64) },
      { time: "2026-01-01T00:00:01.000Z" },
    ];
    for (const change of changes) expect(checkpointSignatureValid({ ...signed, ...change }, k.publicJwk)).toBe(false);
    const other = keyPair();
    expect(checkpointSignatureValid(signed, other.publicJwk)).toBe(false);
    // Re-signed by another key but still naming the first: refused on the key id before the signature.
    const forged = signCheckpoint(body(keyIdOf(k.publicJwk)), other.privateKey);
    expect(checkpointSignatureValid(forged, k.publicJwk)).toBe(false);
    expect(checkpointSignatureValid({ ...signed, signature: "!!" }, k.publicJwk)).toBe(false);
  });

  it("parses a pinned key written as ed25519:<x>, bare x, JWK or PEM; refuses a private JWK or garbage", () => {
    const k = keyPair();
    const pem = String(k.publicKey.export({ format: "pem", type: "spki" }));
    for (const text of [`ed25519:${k.publicJwk.x}`, k.publicJwk.x, JSON.stringify(k.publicJwk), pem, `\n${pem}\n`]) {
      expect(parsePublicKey(text)).toEqual(k.publicJwk);
    }
    const privateJwk = JSON.stringify(k.privateKey.export({ format: "jwk" }));
    expect(() => parsePublicKey(privateJwk)).toThrow(/private/);
    expect(() => parsePublicKey("ed25519:short")).toThrow(/Ed25519 public key/);
    expect(() => parsePublicKey('{"kty":"RSA"}')).toThrow(/Ed25519/);
    expect(() => parsePublicKey("{nope")).toThrow(/JSON/);
  });

  it("reads a checkpoint strictly, naming what is wrong", () => {
    const k = keyPair();
    const signed = signCheckpoint(body(keyIdOf(k.publicJwk)), k.privateKey);
    expect(parseCheckpoint(JSON.parse(JSON.stringify(signed)), "f")).toEqual(signed);
    expect(() => parseCheckpoint({ ...signed, headHash: "xyz" }, "f.json")).toThrow(/^f.json: headHash/);
    expect(() => parseCheckpoint([], "f.json")).toThrow(/not a checkpoint/);
  });
});
