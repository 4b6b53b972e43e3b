// `ephemera login --browser`: the authorization code grant with PKCE for a native app (RFC 8252), its redirect received
// on 127.0.0.1 at a port the kernel picks, checked for this sign-in's state, then exchanged for the ID token.
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { decodeJwt } from "jose";
import { sameSecret } from "../support/index.js";
import { discoverProvider, type FetchLike, form, loginFailed, oauthError, readJson } from "./device-grant.js";
import { EXIT } from "./exit-codes.js";

export interface LoopbackOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly scope: string;
  readonly fetch: FetchLike;
  /** Shows the person where to go (and may open a browser there). */
  readonly prompt: (authorizationUrl: string) => void;
  /** How long to wait for the browser to come back. Default 5 min. */
  readonly timeoutMs?: number;
}

const CALLBACK_PATH = "/callback";
const DONE_PAGE =
  '<!doctype html><meta charset="utf-8"><title>Ephemera</title><p>Signed in. You may close this window and return to the terminal.</p>';
const FAILED_PAGE =
  '<!doctype html><meta charset="utf-8"><title>Ephemera</title><p>The sign-in did not complete; see the terminal.</p>';

const random = () => randomBytes(32).toString("base64url");

type Outcome = { readonly code: string } | { readonly error: string };

/** Listens on 127.0.0.1 (never a wildcard address) until this sign-in's redirect arrives. */
async function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (typeof address !== "object" || address === null) throw loginFailed("could not listen on 127.0.0.1");
  return { server, port: address.port };
}

/**
 * Waits for the redirect carrying `state`. A request without it (another page, a guess) is answered 400 and the wait
 * goes on: only the browser that went through this sign-in's authorization request can end it.
 */
function redirectArrival(server: Server, state: string, issuer: string, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(loginFailed("the browser did not come back in time: run ephemera login again", EXIT.forbidden)),
      timeoutMs,
    );
    server.on("request", (req, res) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const q = url.searchParams;
      const given = q.get("state");
      if (req.method !== "GET" || url.pathname !== CALLBACK_PATH || given === null || !sameSecret(given, state)) {
        res.writeHead(400, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
        res.end("not this sign-in's redirect");
        return;
      }
      // RFC 9207: a provider that names itself must be the one this sign-in went to.
      const iss = q.get("iss");
      const code = q.get("code");
      const error = q.get("error");
      const outcome: Outcome | null =
        iss !== null && iss !== issuer
          ? { error: "wrong_issuer" }
          : error !== null
            ? { error: /^[a-z_]{1,64}$/.test(error) ? error : "error" }
            : code
              ? { code }
              : null;
      if (outcome === null) {
        res.writeHead(400, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
        res.end("no code in the redirect");
        return;
      }
      res.writeHead("code" in outcome ? 200 : 400, {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
        "referrer-policy": "no-referrer",
      });
      res.end("code" in outcome ? DONE_PAGE : FAILED_PAGE);
      clearTimeout(timer);
      resolve(outcome);
    });
  });
}

/** Runs the browser sign-in to its end: answers the ID token, or throws a CliError saying why not. */
export async function runLoopbackSignIn(options: LoopbackOptions): Promise<string> {
  const endpoints = await discoverProvider(options.issuer, options.fetch);
  const state = random();
  const nonce = random();
  const verifier = random();
  const { server, port } = await listen();
  try {
    const redirectUri = `http://127.0.0.1:${port}${CALLBACK_PATH}`;
    const url = new URL(endpoints.authorizationEndpoint);
    const params: Record<string, string> = {
      response_type: "code",
      client_id: options.clientId,
      redirect_uri: redirectUri,
      scope: options.scope,
      state,
      nonce,
      code_challenge: createHash("sha256").update(verifier, "ascii").digest("base64url"),
      code_challenge_method: "S256",
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    options.prompt(url.toString());
    // Listening for the redirect starts in this same turn, before any request on the socket can be read.
    const outcome = await redirectArrival(server, state, options.issuer, options.timeoutMs ?? 5 * 60_000);
    if ("error" in outcome) {
      if (outcome.error === "access_denied") {
        throw loginFailed("the sign-in was denied at the identity provider; nothing was stored", EXIT.forbidden);
      }
      if (outcome.error === "wrong_issuer") {
        throw loginFailed("the redirect names another identity provider (iss); nothing was stored", EXIT.forbidden);
      }
      throw loginFailed(`the identity provider ended the sign-in with an error (${outcome.error})`, EXIT.forbidden);
    }
    const answer = await readJson(
      options.fetch,
      endpoints.tokenEndpoint,
      form({
        grant_type: "authorization_code",
        code: outcome.code,
        redirect_uri: redirectUri,
        client_id: options.clientId,
        code_verifier: verifier,
      }),
      10_000,
    );
    if (answer.status !== 200) {
      const error = oauthError(answer.body) ?? `status ${answer.status}`;
      throw loginFailed(`the identity provider refused the authorization code (${error})`, EXIT.forbidden);
    }
    const idToken = (answer.body as { id_token?: unknown } | null)?.id_token;
    if (typeof idToken !== "string" || idToken.length === 0) {
      throw loginFailed("the identity provider answered no ID token (does the client ask for the openid scope?)");
    }
    // The broker verifies the token's signature, issuer, audience and expiry; the nonce only this command knows.
    let tokenNonce: unknown;
    try {
      tokenNonce = decodeJwt(idToken).nonce;
    } catch {
      throw loginFailed("the identity provider answered an ID token that is not a JWT");
    }
    if (typeof tokenNonce !== "string" || !sameSecret(tokenNonce, nonce)) {
      throw loginFailed("the ID token does not carry this sign-in's nonce; nothing was stored", EXIT.forbidden);
    }
    return idToken;
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
