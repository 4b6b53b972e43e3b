// DPoP proofs (RFC 9449) made by the client: a key the caller holds, and a fresh signed proof per HTTP request.
import { createHash, randomUUID } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { EphemeraConfigError } from "./errors.js";

/** Signs proofs with one private key. `jkt` is the key's RFC 7638 thumbprint: what bound tokens carry as `cnf.jkt`. */
export interface DpopProver {
  readonly jkt: string;
  readonly alg: string;
  /**
   * A proof for one request: `htm` = method, `htu` = url without query and fragment, a fresh `iat` and `jti`, and with
   * `accessToken` its hash as `ath` (what a resource server checks for a bound token).
   */
  proof(method: string, url: string, accessToken?: string): Promise<string>;
}

const ALGORITHMS = new Set(["ES256", "ES384", "EdDSA", "RS256", "PS256"]);

/** A prover for a private JWK (with `alg`, or ES256 for a P-256 key, EdDSA for an OKP key). */
export async function dpopProver(privateJwk: JWK): Promise<DpopProver> {
  const alg = privateJwk.alg ?? (privateJwk.kty === "OKP" ? "EdDSA" : privateJwk.crv === "P-384" ? "ES384" : "ES256");
  if (!ALGORITHMS.has(alg))
    throw new EphemeraConfigError(`dpop key: algorithm ${alg} is not one of ${[...ALGORITHMS]}`);
  if (privateJwk.d === undefined) throw new EphemeraConfigError("dpop key: must be a private key (no 'd')");
  const key = await importJWK(privateJwk, alg);
  const publicJwk: JWK = Object.fromEntries(
    Object.entries(privateJwk).filter(([name]) => ["kty", "crv", "x", "y", "n", "e"].includes(name)),
  );
  const jkt = await calculateJwkThumbprint(publicJwk, "sha256");
  return {
    jkt,
    alg,
    proof(method, url, accessToken) {
      const target = new URL(url);
      target.search = "";
      target.hash = "";
      return new SignJWT({
        htm: method.toUpperCase(),
        htu: target.toString(),
        ...(accessToken === undefined ? {} : { ath: createHash("sha256").update(accessToken).digest("base64url") }),
      })
        .setProtectedHeader({ typ: "dpop+jwt", alg, jwk: publicJwk })
        .setJti(randomUUID())
        .setIssuedAt()
        .sign(key);
    },
  };
}

/** A new private key (ES256 by default) as a JWK, for `dpopProver`. */
export async function generateDpopKey(alg: "ES256" | "EdDSA" = "ES256"): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), alg };
}

/**
 * Reads a private JWK from `path`; when the file does not exist and `create` is set, makes a new key and writes it
 * there (mode 0600, never overwriting), so the process that uses the bound credential can read the same key.
 */
export async function loadDpopKeyFile(path: string, options: { create?: boolean } = {}): Promise<DpopProver> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT" || options.create !== true) {
      throw new EphemeraConfigError(
        `dpop key ${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      );
    }
    const jwk = await generateDpopKey();
    try {
      await writeFile(path, `${JSON.stringify(jwk)}\n`, { mode: 0o600, flag: "wx" });
    } catch (writeError) {
      if ((writeError as NodeJS.ErrnoException).code !== "EEXIST") throw writeError;
      return loadDpopKeyFile(path); // another process made it first: use theirs
    }
    return dpopProver(jwk);
  }
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    throw new EphemeraConfigError(`dpop key ${path}: not a JSON Web Key`);
  }
  if (typeof jwk !== "object" || jwk === null || typeof (jwk as JWK).kty !== "string") {
    throw new EphemeraConfigError(`dpop key ${path}: not a JSON Web Key`);
  }
  return dpopProver(jwk as JWK);
}
