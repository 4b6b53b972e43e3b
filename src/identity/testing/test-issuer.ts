// Test issuers: fixed key sets (RSA, P-256, Ed25519), a minting function that can forge anything, and a local server
// that serves discovery and JWKS documents and records every hit.

import { createPrivateKey, type KeyObject, sign as signBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK } from "jose";

export interface TestKey {
  readonly kid: string;
  readonly alg: "RS256" | "ES256" | "EdDSA";
  readonly privateKey: KeyObject;
  readonly publicJwk: JWK;
}

export async function makeKey(kid: string, alg: TestKey["alg"]): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg === "EdDSA" ? "Ed25519" : alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, use: "sig" };
  const privateJwk = await exportJWK(privateKey);
  return { kid, alg, privateKey: createPrivateKey({ key: privateJwk as never, format: "jwk" }), publicJwk };
}

export const b64 = (value: unknown): string =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** Signs `header.payload` with `key` as its alg requires (ES256 in JOSE's raw r||s form). Raw: forgeries use it too. */
export function signCompact(header: Record<string, unknown>, payload: unknown, key: TestKey): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature =
    key.alg === "RS256"
      ? signBytes("sha256", Buffer.from(input), key.privateKey)
      : key.alg === "ES256"
        ? signBytes("sha256", Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" })
        : signBytes(null, Buffer.from(input), key.privateKey);
  return `${input}.${signature.toString("base64url")}`;
}

export interface RecordingServer {
  readonly url: string;
  /** Requests received, by path. */
  readonly hits: Map<string, number>;
  total(): number;
  /** Sets what a path answers: a JSON body (200), or a status and headers (redirects, errors). */
  route(
    path: string,
    answer: { json?: unknown; status?: number; headers?: Record<string, string>; hang?: boolean },
  ): void;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 that answers configured paths and counts every request, answered or not. */
export async function recordingServer(): Promise<RecordingServer> {
  const hits = new Map<string, number>();
  const routes = new Map<
    string,
    { json?: unknown; status?: number; headers?: Record<string, string>; hang?: boolean }
  >();
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const answer = routes.get(path);
    if (!answer) {
      response.writeHead(404).end();
      return;
    }
    if (answer.hang) return;
    response.writeHead(answer.status ?? 200, { "content-type": "application/json", ...answer.headers });
    response.end(answer.json === undefined ? "" : JSON.stringify(answer.json));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hits,
    total: () => [...hits.values()].reduce((a, b) => a + b, 0),
    route: (path, answer) => routes.set(path, answer),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
