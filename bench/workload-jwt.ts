// Cost of authenticating a workload JWT through the broker's OIDC authenticator (header checks, key lookup, jose verify,
// claim flattening, trust rule, registry read) beside a bare jose jwtVerify of the same tokens, interleaved in one run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, jwtVerify, SignJWT } from "jose";
import { createOidcAuthenticator, parseOidcSettings } from "../src/identity/oidc/oidc-authenticator.js";
import { IdentityRegistry } from "../src/identity/registry.js";
import { openSqliteStore } from "../src/storage/sqlite/index.js";
import { systemClock } from "../src/support/clock.js";
import { silentLogger } from "../src/support/logger.js";
import { type LatencySummary, nowMs, summarize } from "./stats.js";

const ISSUER = "https://token.actions.githubusercontent.com";
const AUD = "ephemera";

export interface JwtBenchResult {
  readonly alg: string;
  readonly tokens: number;
  readonly broker: LatencySummary;
  readonly bare: LatencySummary;
}

async function runFor(alg: "RS256" | "ES256", count: number, root: string): Promise<JwtBenchResult> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const jwk = { ...(await exportJWK(publicKey)), kid: `${alg}-1`, use: "sig" };
  const store = await openSqliteStore(join(root, `${alg}.db`));
  try {
    const problems: string[] = [];
    const settings = parseOidcSettings(
      {
        type: "oidc",
        name: "github",
        issuer: ISSUER,
        audience: AUD,
        algorithms: [alg],
        rules: [
          {
            match: { repository: "acme/deploy", ref: "refs/heads/main" },
            identity: "ci-deploy",
            owner: "team-payments",
          },
        ],
      },
      { at: "authenticators.0", identities: new Map(), problems, readFile: () => null },
    );
    if (problems.length > 0) throw new Error(problems.join("; "));
    const auth = createOidcAuthenticator(
      { ...settings, keys: { kind: "static", keys: [jwk] } },
      {
        registry: new IdentityRegistry(store, systemClock, silentLogger()),
        clock: systemClock,
        logger: silentLogger(),
      },
    );
    const now = Math.floor(Date.now() / 1000);
    const tokens: string[] = [];
    for (let i = 0; i < count; i++) {
      tokens.push(
        await new SignJWT({
          repository: "acme/deploy",
          repository_owner: "acme",
          ref: "refs/heads/main",
          workflow: "deploy",
          run_id: String(i),
        })
          .setProtectedHeader({ alg, kid: jwk.kid, typ: "JWT" })
          .setIssuer(ISSUER)
          .setAudience(AUD)
          .setSubject("repo:acme/deploy:ref:refs/heads/main")
          .setJti(`run-${i}`)
          .setIssuedAt(now)
          .setNotBefore(now)
          .setExpirationTime(now + 600)
          .sign(privateKey),
      );
    }
    const options = { issuer: ISSUER, audience: AUD, algorithms: [alg] };
    const broker: number[] = [];
    const bare: number[] = [];
    // Warm up both paths (JIT, key import, first registry write), then interleave so both see the same machine.
    for (const token of tokens.slice(0, 100)) {
      const result = await auth.authenticate({ authorization: `Bearer ${token}` });
      if (!result.ok) throw new Error(`bench token refused: ${result.reason}`);
      await jwtVerify(token, publicKey, options);
    }
    for (const token of tokens) {
      let t = nowMs();
      const result = await auth.authenticate({ authorization: `Bearer ${token}` });
      broker.push(nowMs() - t);
      if (!result.ok) throw new Error(`bench token refused: ${result.reason}`);
      t = nowMs();
      await jwtVerify(token, publicKey, options);
      bare.push(nowMs() - t);
    }
    return { alg, tokens: count, broker: summarize(broker), bare: summarize(bare) };
  } finally {
    await store.close();
  }
}

export async function runWorkloadJwtBench(count = 3000): Promise<JwtBenchResult[]> {
  const root = mkdtempSync(join(tmpdir(), "ephemera-bench-jwt-"));
  try {
    return [await runFor("RS256", count, root), await runFor("ES256", count, root)];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
