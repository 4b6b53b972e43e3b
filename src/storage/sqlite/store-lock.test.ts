// The SQLite store's lock: one holder at a time, named in the refusal, and given up with the holder (release or death).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { lockSqliteStore, StoreLockedError } from "./store-lock.js";

let dir = "";
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("lockSqliteStore", () => {
  it("refuses a second holder, naming the first's pid, and is free again once released", () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-lock-"));
    const db = join(dir, "ephemera.db");
    const first = lockSqliteStore(db);
    let refused: unknown;
    try {
      lockSqliteStore(db);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(StoreLockedError);
    expect((refused as StoreLockedError).holderPid).toBe(process.pid);
    expect((refused as Error).message).toContain(`pid ${process.pid}`);
    first.release();
    first.release();
    lockSqliteStore(db).release();
  });

  it("takes over a pid file an earlier broker left under the lock's name", () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-lock-"));
    const db = join(dir, "ephemera.db");
    writeFileSync(`${db}.lock`, `${JSON.stringify({ pid: 4242, host: "old", since: "2026-11-01T00:00:00Z" })}\n`);
    const lock = lockSqliteStore(db);
    expect(() => lockSqliteStore(db)).toThrow(StoreLockedError);
    lock.release();
  });

  it("gives the lock up again when the holder file cannot be written", () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-lock-"));
    const db = join(dir, "ephemera.db");
    mkdirSync(`${db}.lock.holder`);
    expect(() => lockSqliteStore(db)).toThrow(/EISDIR/);
    rmSync(`${db}.lock.holder`, { recursive: true });
    lockSqliteStore(db).release();
  });

  it("is given up when its holder dies without releasing it, whatever pid the next holder has", async () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-lock-"));
    const db = join(dir, "ephemera.db");
    const script = `
      const Database = require("better-sqlite3");
      const d = new Database(process.argv[1], { timeout: 0 });
      d.pragma("locking_mode = EXCLUSIVE");
      d.exec("BEGIN EXCLUSIVE");
      require("node:fs").writeFileSync(process.argv[1] + ".holder", JSON.stringify({ pid: process.pid, host: require("node:os").hostname(), since: "x" }));
      process.stdout.write("held\\n");
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["-e", script, `${db}.lock`], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    expect(() => lockSqliteStore(db)).toThrow(`pid ${child.pid}`);
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    lockSqliteStore(db).release();
  });
});
