// The test OpenID provider itself: discovery, the device grant completed with a person's password, a wrong password
// refused, and an ID token that carries the person's groups and verifies against the published keys.
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestOidcProvider, type TestOidcProvider } from "./support/oidc-provider.js";

describe("the test OpenID provider", () => {
  let idp: TestOidcProvider;

  beforeAll(async () => {
    idp = await startTestOidcProvider({
      people: [{ login: "dana", password: "correct horse", email: "dana@example.test", groups: ["sre"] }],
      redirectUris: ["http://127.0.0.1:1/v1/sessions/oidc/callback"],
    });
  });
  afterAll(async () => idp?.close());

  it("publishes discovery with the device and end-session endpoints", async () => {
    const doc = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(doc.issuer).toBe(idp.issuer);
    expect(doc.device_authorization_endpoint).toBe(`${idp.issuer}/device/auth`);
    expect(doc.end_session_endpoint).toBe(`${idp.issuer}/session/end`);
    expect(doc.code_challenge_methods_supported).toEqual(["S256"]);
  });

  it("completes a device grant for a person with the right password, the ID token naming their groups", async () => {
    const started = await idp.startDeviceAuthorization();
    await idp.approveDevice(started.verification_uri_complete, "dana", "correct horse");
    const tokens = await idp.pollDeviceToken(started.device_code);
    const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
    const { payload } = await jwtVerify(tokens.id_token, jwks, { issuer: idp.issuer, audience: idp.cliClientId });
    expect(payload.sub).toBe("dana");
    expect(payload.email).toBe("dana@example.test");
    expect(payload.groups).toEqual(["sre"]);
  });

  it("refuses a wrong password on its login form", async () => {
    const started = await idp.startDeviceAuthorization();
    await expect(idp.approveDevice(started.verification_uri_complete, "dana", "wrong")).rejects.toThrow(
      /did not complete/,
    );
  });
});
