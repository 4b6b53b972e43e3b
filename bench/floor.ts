// The raw floor: one Ed25519 JWT signed as the broker signs (node:crypto one-shot) plus one durable SQLite insert
// (WAL, synchronous=FULL, autocommit) per op, sequentially.
import { generateKeyPairSync, randomBytes, randomUUID, sign } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { type LatencySummary, nowMs, summarize } from "./stats.js";

export interface FloorResult {
  readonly ops: number;
  readonly elapsedMs: number;
  readonly opsPerSecond: number;
  readonly latency: LatencySummary;
  /** The same loop split: signing alone and the durable insert alone, p50 ms. */
  readonly signP50: number;
  readonly insertP50: number;
}

export async function runFloor(dir: string, options: { maxMs: number; maxOps: number }): Promise<FloorResult> {
  const { privateKey } = generateKeyPairSync("ed25519");
  const kid = randomBytes(8).toString("hex");
  const header = Buffer.from(JSON.stringify({ alg: "EdDSA", kid, typ: "at+jwt" })).toString("base64url");
  const db = new Database(join(dir, "floor.db"));
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    // Like the broker, the floor keeps the token's id and expiry, never the token itself.
    db.exec("CREATE TABLE tokens (jti TEXT PRIMARY KEY, sub TEXT NOT NULL, exp INTEGER NOT NULL)");
    const insert = db.prepare<[string, string, number]>("INSERT INTO tokens (jti, sub, exp) VALUES (?, ?, ?)");

    const op = async (): Promise<{ sign: number; insert: number }> => {
      const t0 = nowMs();
      const iat = Math.floor(Date.now() / 1000);
      const jti = `grt_${randomUUID()}`;
      const claims = {
        iss: "http://127.0.0.1:8720",
        aud: "https://bench-api.test",
        sub: "bench-client",
        scope: "bench.read",
        jti,
        ent: "bench-api/read",
        iat,
        nbf: iat,
        exp: iat + 300,
      };
      const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
      const token = `${input}.${sign(null, Buffer.from(input), privateKey).toString("base64url")}`;
      const t1 = nowMs();
      if (token.length === 0) throw new Error("no token");
      insert.run(jti, "bench-client", iat + 300);
      return { sign: t1 - t0, insert: nowMs() - t1 };
    };

    for (let i = 0; i < 200; i++) await op(); // warm-up: JIT, page cache, WAL file growth
    const latencies: number[] = [];
    const signs: number[] = [];
    const inserts: number[] = [];
    const begin = nowMs();
    const deadline = begin + options.maxMs;
    while (latencies.length < options.maxOps && nowMs() < deadline) {
      const t0 = nowMs();
      const split = await op();
      latencies.push(nowMs() - t0);
      signs.push(split.sign);
      inserts.push(split.insert);
    }
    const elapsedMs = nowMs() - begin;
    return {
      ops: latencies.length,
      elapsedMs,
      opsPerSecond: (latencies.length / elapsedMs) * 1000,
      latency: summarize(latencies),
      signP50: summarize(signs).p50,
      insertP50: summarize(inserts).p50,
    };
  } finally {
    db.close();
  }
}
