// API keys: recognisable, stored only as hashes, and compared so that wrong and unknown keys are refused alike.
import { describe, expect, it } from "vitest";
import type { Identity } from "../domain/types.js";
import { ApiKeyAuthenticator, generateApiKey, hashApiKey, parseApiKey } from "./api-keys.js";
import { AuthenticatorChain } from "./authenticate.js";

const ci: Identity = {
  id: "ci-deploy",
  kind: "pipeline",
  owner: "team",
  groups: [],
  attributes: {},
  status: "active",
  admin: false,
};

describe("API keys", () => {
  it("carry the ephk_ prefix, a key id and 256 random bits, and hash to what is stored", () => {
    const key = generateApiKey();
    expect(key.key).toMatch(/^ephk_[0-9a-z]{16}_[A-Za-z0-9_-]{43}$/);
    expect(parseApiKey(key.key)?.keyId).toBe(key.keyId);
    expect(key.hash).toBe(hashApiKey(key.key));
    expect(key.hash).not.toContain(key.key.slice(-43));
    expect(generateApiKey().key).not.toBe(key.key);
  });

  it("authenticate the right key and refuse a wrong secret, an unknown id and malformed input", async () => {
    const key = generateApiKey();
    const other = generateApiKey();
    const auth = new ApiKeyAuthenticator([{ keyId: key.keyId, identityId: "ci-deploy", hash: key.hash }], async (id) =>
      id === "ci-deploy" ? ci : undefined,
    );
    const chain = new AuthenticatorChain([auth]);
    const ok = await chain.authenticate({ authorization: `Bearer ${key.key}` });
    expect(ok).toMatchObject({ ok: true, identity: { id: "ci-deploy" }, method: "api_key", credentialId: key.keyId });

    const wrongSecret = `ephk_${key.keyId}_${other.key.split("_")[2]}`;
    for (const presented of [wrongSecret, other.key, "ephk_short", "hunter2", `${key.key}x`]) {
      const result = await chain.authenticate({ authorization: `Bearer ${presented}` });
      expect(result.ok, presented.slice(0, 12)).toBe(false);
      if (!result.ok) expect(result.reason).not.toContain(presented.slice(-20));
    }
    expect((await chain.authenticate({ authorization: undefined })).ok).toBe(false);
    expect((await chain.authenticate({ authorization: `Basic ${key.key}` })).ok).toBe(false);
  });

  it("refuse a key whose identity is offboarded or no longer configured", async () => {
    const key = generateApiKey();
    const entry = { keyId: key.keyId, identityId: "ci-deploy", hash: key.hash };
    const offboarded = new ApiKeyAuthenticator([entry], async () => ({ ...ci, status: "offboarded" }));
    expect((await offboarded.authenticate({ authorization: `Bearer ${key.key}` })).ok).toBe(false);
    const gone = new ApiKeyAuthenticator([entry], async () => undefined);
    expect((await gone.authenticate({ authorization: `Bearer ${key.key}` })).ok).toBe(false);
  });
});
