// The raw floor: one EdDSA JWT (jose) plus one durable SQLite insert (WAL, synchronous=FULL, autocommit) per op, sequentially.
import { randomBytes, randomUUID } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { generateKeyPair, SignJWT } from "jose";
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
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const kid = randomBytes(8).toString("hex");
  const db = new Database(join(dir, "floor.db"));
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.exec("CREATE TABLE tokens (jti TEXT PRIMARY KEY, sub TEXT NOT NULL, token TEXT NOT NULL, exp INTEGER NOT NULL)");
    const insert = db.prepare<[string, string, string, number]>(
      "INSERT INTO tokens (jti, sub, token, exp) VALUES (?, ?, ?, ?)",
    );

    const op = async (): Promise<{ sign: number; insert: number }> => {
      const t0 = nowMs();
      const iat = Math.floor(Date.now() / 1000);
      const jti = `grt_${randomUUID()}`;
      const token = await new SignJWT({
        iss: "http://127.0.0.1:8720",
        aud: "https://bench-api.test",
        sub: "bench-client",
        scope: "bench.read",
        jti,
        ent: "bench-api/read",
        iat,
        nbf: iat,
        exp: iat + 300,
      })
        .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt" })
        .sign(privateKey);
      const t1 = nowMs();
      insert.run(jti, "bench-client", token, iat + 300);
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
