// `login --browser`'s own checks, on a scripted provider and the real loopback listener: the code exchange carries the
// PKCE verifier of the challenge sent, and an ID token without this sign-in's nonce or a redirect naming another
// issuer is refused.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { FetchLike } from "./device-grant.js";
import { CliError, EXIT } from "./exit-codes.js";
import { runLoopbackSignIn } from "./loopback-sign-in.js";

const ISSUER = "https://idp.example";
const unsignedJwt = (payload: Record<string, unknown>) =>
  `${Buffer.from('{"alg":"RS256"}').toString("base64url")}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.sig`;

/** Runs a sign-in whose browser comes back with `query(state)` and whose token endpoint answers `idToken(nonce)`. */
async function signIn(idToken: (nonce: string) => string, query = (state: string) => `code=c-1&state=${state}`) {
  let sent: URL | null = null;
  let exchanged: URLSearchParams | null = null;
  const fetchFn: FetchLike = async (input, init) => {
    if (input === `${ISSUER}/.well-known/openid-configuration`) {
      return Response.json({
        issuer: ISSUER,
        authorization_endpoint: `${ISSUER}/auth`,
        token_endpoint: `${ISSUER}/token`,
      });
    }
    if (input === `${ISSUER}/token`) {
      exchanged = new URLSearchParams(String(init.body));
      return Response.json({ id_token: idToken(sent?.searchParams.get("nonce") ?? "") });
    }
    return new Response(null, { status: 404 });
  };
  const result = runLoopbackSignIn({
    issuer: ISSUER,
    clientId: "ephemera-cli",
    scope: "openid",
    fetch: fetchFn,
    timeoutMs: 10_000,
    prompt: (url) => {
      sent = new URL(url);
      const back = `${sent.searchParams.get("redirect_uri")}?${query(sent.searchParams.get("state") ?? "")}`;
      setImmediate(() => void fetch(back).then((r) => r.body?.cancel()));
    },
  });
  const outcome = await result.then(
    (token) => ({ token, error: null }),
    (error: unknown) => ({ token: null, error }),
  );
  return { ...outcome, sent: sent as URL | null, exchanged: exchanged as URLSearchParams | null };
}

describe("login --browser", () => {
  it("exchanges the code with the verifier of the challenge it sent, to the same loopback redirect", async () => {
    const { token, sent, exchanged } = await signIn((nonce) => unsignedJwt({ nonce }));
    expect(token).not.toBeNull();
    const verifier = exchanged?.get("code_verifier") ?? "";
    expect(createHash("sha256").update(verifier).digest("base64url")).toBe(sent?.searchParams.get("code_challenge"));
    expect(exchanged?.get("redirect_uri")).toBe(sent?.searchParams.get("redirect_uri"));
    expect(exchanged?.get("code")).toBe("c-1");
    expect(sent?.searchParams.get("redirect_uri")).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
  });

  it("refuses an ID token without this sign-in's nonce", async () => {
    const { error } = await signIn(() => unsignedJwt({ nonce: "another" }));
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(EXIT.forbidden);
    expect((error as CliError).message).toMatch(/nonce/);
  });

  it("refuses a redirect that names another issuer (RFC 9207)", async () => {
    const { error, exchanged } = await signIn(
      (nonce) => unsignedJwt({ nonce }),
      (state) => `code=c-1&state=${state}&iss=${encodeURIComponent("https://evil.example")}`,
    );
    expect((error as CliError).message).toMatch(/another identity provider/);
    expect(exchanged).toBeNull();
  });
});
