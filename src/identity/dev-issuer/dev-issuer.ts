// A local OIDC issuer for tests and the demo: one P-256 key in a 0600 file, discovery and JWKS on 127.0.0.1, tokens minted
// with CI-shaped claims. For trying the machine flow without a CI system; never a production issuer.
import { randomUUID } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";

export const DEV_ISSUER_ALG = "ES256";
export const DEV_ISSUER_DEFAULT_PORT = 8721;

export interface DevIssuerKey {
  readonly kid: string;
  /** The private key as a JWK: kept in a 0600 file, never printed. */
  readonly privateJwk: JWK;
}

export async function createDevIssuerKey(): Promise<DevIssuerKey> {
  const { privateKey } = await generateKeyPair(DEV_ISSUER_ALG, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(privateJwk, "sha256");
  return { kid, privateJwk: { ...privateJwk, kid, alg: DEV_ISSUER_ALG } };
}

/** Loads the key file, or creates it (mode 0600) on first use, so `serve` and `mint` in other processes share it. */
export async function loadOrCreateDevIssuerKey(file: string): Promise<DevIssuerKey> {
  if (existsSync(file)) {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as { kid?: unknown; privateJwk?: unknown };
    if (typeof parsed.kid !== "string" || typeof parsed.privateJwk !== "object" || parsed.privateJwk === null) {
      throw new Error(`${file} is not a dev-issuer key file`);
    }
    return { kid: parsed.kid, privateJwk: parsed.privateJwk as JWK };
  }
  const key = await createDevIssuerKey();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, `${JSON.stringify(key)}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    // Another process made it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return loadOrCreateDevIssuerKey(file);
    throw error;
  }
  chmodSync(file, 0o600);
  return key;
}

export function publicJwkOf(key: DevIssuerKey): JWK {
  const { kty, crv, x, y } = key.privateJwk;
  return { kty, crv, x, y, kid: key.kid, alg: DEV_ISSUER_ALG, use: "sig" } as JWK;
}

export interface MintOptions {
  readonly issuer: string;
  readonly subject: string;
  readonly audience: string;
  readonly ttlSeconds: number;
  /** Extra claims (repository, ref, namespace…); they cannot override iss, sub, aud, iat, nbf, exp or jti. */
  readonly claims?: Readonly<Record<string, string | number | boolean>>;
  readonly now?: number;
}

/** Signs a workload token as a CI system would: fresh jti, iat/nbf now, exp after the TTL. */
export async function mintDevToken(key: DevIssuerKey, options: MintOptions): Promise<string> {
  const signingKey = await importJWK(key.privateJwk, DEV_ISSUER_ALG);
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const reserved = new Set(["iss", "sub", "aud", "iat", "nbf", "exp", "jti"]);
  const extra = Object.fromEntries(Object.entries(options.claims ?? {}).filter(([k]) => !reserved.has(k)));
  return new SignJWT(extra)
    .setProtectedHeader({ alg: DEV_ISSUER_ALG, kid: key.kid, typ: "JWT" })
    .setIssuer(options.issuer)
    .setSubject(options.subject)
    .setAudience(options.audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + options.ttlSeconds)
    .setJti(randomUUID())
    .sign(signingKey);
}

export interface RunningDevIssuer {
  /** The issuer URL (`iss`), e.g. http://127.0.0.1:8721. */
  readonly issuer: string;
  /** Requests served, by path: tests read it. */
  readonly hits: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

/** Serves `/.well-known/openid-configuration` and `/jwks.json` on 127.0.0.1 (loopback only, by construction). */
export async function serveDevIssuer(key: DevIssuerKey, port = DEV_ISSUER_DEFAULT_PORT): Promise<RunningDevIssuer> {
  const hits = new Map<string, number>();
  let issuer = "";
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json", "cache-control": "max-age=60" });
      response.end(JSON.stringify(body));
    };
    if (request.method !== "GET") return send(405, { error: "method not allowed" });
    if (path === "/.well-known/openid-configuration") {
      return send(200, {
        issuer,
        jwks_uri: `${issuer}/jwks.json`,
        id_token_signing_alg_values_supported: [DEV_ISSUER_ALG],
        response_types_supported: ["id_token"],
        subject_types_supported: ["public"],
        claims_supported: ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "repository", "ref"],
      });
    }
    if (path === "/jwks.json") return send(200, { keys: [publicJwkOf(key)] });
    return send(404, { error: "not found" });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
