// Through the API of a restarted broker: an audit log edited, cut or reordered behind the broker's back is reported.
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCheckpointKey } from "../src/audit/audit-keys.js";
import { Checkpointer } from "../src/audit/checkpointer.js";
import { systemEvent } from "../src/audit/system-event.js";
import { EXIT } from "../src/cli/exit-codes.js";
import { run } from "../src/cli/testing/run-cli.js";
import { GENESIS_HASH, hashEvent } from "../src/domain/audit-chain.js";
import { openPostgresStore } from "../src/storage/postgres/index.js";
import { asSuperuser, postgresStoreUp, STORE_TEST_URL, testSchema } from "../src/storage/postgres/testing/schemas.js";
import { type AuditRow, rowToEvent } from "../src/storage/sql/audit-rows.js";
import { openDatabase, type SqliteConnection } from "../src/storage/sqlite/driver.js";
import { ManualClock } from "../src/support/clock.js";
import { silentLogger } from "../src/support/logger.js";
import { Sealer } from "../src/support/sealer.js";
import { startTestBroker } from "./support/broker.js";

type Tamper = (db: SqliteConnection) => void;

async function runAndTamper(tamper: Tamper) {
  const first = await startTestBroker();
  const auth = { authorization: `Bearer ${first.keys.ci}` };
  for (let i = 0; i < 3; i++) {
    const issued = await first.broker.app.inject({
      method: "POST",
      url: "/v1/requests",
      headers: auth,
      payload: { entitlement: "demo-api/read", duration: "5m" },
    });
    await first.broker.app.inject({
      method: "POST",
      url: `/v1/grants/${issued.json().grant.id}/complete`,
      headers: auth,
    });
  }
  const dataDir = first.dataDir;
  await first.broker.close();

  const db = openDatabase(join(dataDir, "ephemera.db"));
  db.exec("DROP TRIGGER IF EXISTS audit_events_no_update; DROP TRIGGER IF EXISTS audit_events_no_delete;");
  tamper(db);
  db.close();

  const second = await startTestBroker({ dataDir });
  try {
    const response = await second.broker.app.inject({
      method: "GET",
      url: "/v1/audit/verify",
      headers: { authorization: `Bearer ${second.keys.admin}` },
    });
    return response.json();
  } finally {
    await second.close();
  }
}

describe("audit verification after tampering", () => {
  it("an untouched log verifies", async () => {
    expect(await runAndTamper(() => {})).toMatchObject({ ok: true });
  });

  it.each<[string, Tamper, number]>([
    [
      "an edited event",
      (db) => db.prepare('UPDATE audit_events SET data = \'{"entitlement":"x"}\' WHERE seq = 5').run(),
      5,
    ],
    ["a deleted event", (db) => db.prepare("DELETE FROM audit_events WHERE seq = 7").run(), 7],
    [
      "two reordered events",
      (db) => {
        db.prepare("UPDATE audit_events SET seq = -1 WHERE seq = 4").run();
        db.prepare("UPDATE audit_events SET seq = 4 WHERE seq = 6").run();
        db.prepare("UPDATE audit_events SET seq = 6 WHERE seq = -1").run();
      },
      4,
    ],
  ])("%s is detected at the first bad event", async (_what, tamper, firstBad) => {
    const result = await runAndTamper(tamper);
    expect(result.ok).toBe(false);
    expect(result.firstBadSeq).toBe(firstBad);
  });
});

// Offline, against signed checkpoints kept outside the store: every tampering is detected, including a rewritten
// chain (hashes recomputed), a truncated log and a database replaced whole by a freshly built, self-consistent one.
describe("offline verification against signed checkpoints", () => {
  type Copy = { db: string; checkpoints: string };
  type Case = [string, (copy: Copy) => void | Promise<void>];

  let work: string;
  let pristine: Copy;
  let foreign: Copy;
  let pin: string;
  let headSeq: number;
  let lastCheckpointSeq: number;

  /** A broker run: rounds of issue + complete, a signed checkpoint after each round, then a few uncovered events. */
  async function buildLog(dir: string): Promise<{ pin: string; head: number; covered: number }> {
    const t = await startTestBroker({ dataDir: dir, schedule: false });
    const auth = { authorization: `Bearer ${t.keys.ci}` };
    const checkpointer = t.broker.audit.checkpointer!;
    let covered = 0;
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 2; i++) {
        const issued = await t.broker.app.inject({
          method: "POST",
          url: "/v1/requests",
          headers: auth,
          payload: { entitlement: "demo-api/read", duration: "5m" },
        });
        await t.broker.app.inject({
          method: "POST",
          url: `/v1/grants/${issued.json().grant.id}/complete`,
          headers: auth,
        });
      }
      covered = (await checkpointer.runOnce(true))!.seq;
    }
    await t.broker.app.inject({
      method: "POST",
      url: "/v1/requests",
      headers: auth,
      payload: { entitlement: "demo-api/read" },
    });
    const key = await t.broker.app.inject({
      method: "GET",
      url: "/v1/audit/checkpoints/key",
      headers: { authorization: `Bearer ${t.keys.admin}` },
    });
    const head = (await t.broker.deps.store.auditHead()).seq;
    await t.broker.close();
    return { pin: key.json().pin, head, covered };
  }

  function copyOf(source: Copy, name: string): Copy {
    const dir = join(work, name);
    mkdirSync(dir);
    const copy = { db: join(dir, "ephemera.db"), checkpoints: join(dir, "checkpoints") };
    copyFileSync(source.db, copy.db);
    cpSync(source.checkpoints, copy.checkpoints, { recursive: true });
    return copy;
  }

  function withDb(copy: Copy, change: (db: SqliteConnection) => void): void {
    const db = openDatabase(copy.db);
    db.exec("DROP TRIGGER IF EXISTS audit_events_no_update; DROP TRIGGER IF EXISTS audit_events_no_delete;");
    change(db);
    db.close();
  }

  /** Recomputes prevHash and hash of every event from `fromSeq` on, as an attacker who knows the scheme would. */
  function rechain(db: SqliteConnection, fromSeq: number): void {
    const rows = db.prepare("SELECT * FROM audit_events ORDER BY seq").all() as AuditRow[];
    let prev = GENESIS_HASH;
    const update = db.prepare("UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?");
    for (const row of rows) {
      const event = rowToEvent(row);
      if (event.seq >= fromSeq) {
        const { hash: _old, ...body } = { ...event, prevHash: prev };
        const hash = hashEvent(body);
        update.run(prev, hash, event.seq);
        prev = hash;
      } else {
        prev = event.hash;
      }
    }
  }

  const verify = (copy: Copy, key = pin) =>
    run(["audit", "verify", "--checkpoints", copy.checkpoints, "--store", copy.db, "--key", key, "--json"]);

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "ephemera-tamper-"));
    const built = await buildLog(join(work, "original"));
    pin = built.pin;
    headSeq = built.head;
    lastCheckpointSeq = built.covered;
    pristine = { db: join(work, "original", "ephemera.db"), checkpoints: join(work, "original", "checkpoints") };
    await buildLog(join(work, "other"));
    foreign = { db: join(work, "other", "ephemera.db"), checkpoints: join(work, "other", "checkpoints") };
  }, 60_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("an untouched copy verifies, naming how far the checkpoints reach", async () => {
    const result = await verify(copyOf(pristine, "untouched"));
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, headSeq, coveredSeq: lastCheckpointSeq });
    expect(readdirSync(pristine.checkpoints)).toHaveLength(4);
  });

  it("wants a pinned key; with --unpinned it verifies against the store's own key, warns and says so", async () => {
    const copy = copyOf(pristine, "unpinned");
    const args = ["audit", "verify", "--checkpoints", copy.checkpoints, "--store", copy.db];
    const refused = await run(args);
    expect(refused.code).toBe(EXIT.usage);
    expect(refused.stderr).toMatch(/--key: pass the checkpoint key auditors pinned/);
    const result = await run([...args, "--unpinned"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/no --key pinned/);
    expect(result.stdout).toMatch(/key NOT pinned/);
    expect(JSON.parse((await run([...args, "--unpinned", "--json"])).stdout)).toMatchObject({
      ok: true,
      keyPinned: false,
    });
  });

  it("detects every tampering and names the first event it can no longer vouch for", async () => {
    const checkpointFiles = () => readdirSync(pristine.checkpoints).sort();
    const cases: [...Case, number][] = [
      [
        "edit an event's data",
        (c) => withDb(c, (db) => db.prepare(`UPDATE audit_events SET data = '{"x":1}' WHERE seq = 5`).run()),
        5,
      ],
      [
        "edit an event and recompute every hash after it",
        (c) =>
          withDb(c, (db) => {
            db.prepare(`UPDATE audit_events SET data = '{"x":1}' WHERE seq = 5`).run();
            rechain(db, 5);
          }),
        1,
      ],
      ["delete an event", (c) => withDb(c, (db) => db.prepare("DELETE FROM audit_events WHERE seq = 7").run()), 7],
      [
        "delete an event, renumber and rechain the rest",
        (c) =>
          withDb(c, (db) => {
            db.prepare("DELETE FROM audit_events WHERE seq = 7").run();
            db.prepare("UPDATE audit_events SET seq = -seq + 1 WHERE seq > 7").run();
            db.prepare("UPDATE audit_events SET seq = -seq WHERE seq < 0").run();
            rechain(db, 7);
          }),
        1,
      ],
      [
        "swap two events",
        (c) =>
          withDb(c, (db) => {
            db.prepare("UPDATE audit_events SET seq = -1 WHERE seq = 4").run();
            db.prepare("UPDATE audit_events SET seq = 4 WHERE seq = 6").run();
            db.prepare("UPDATE audit_events SET seq = 6 WHERE seq = -1").run();
          }),
        4,
      ],
      [
        "swap two events and rechain",
        (c) =>
          withDb(c, (db) => {
            db.prepare("UPDATE audit_events SET seq = -1 WHERE seq = 4").run();
            db.prepare("UPDATE audit_events SET seq = 4 WHERE seq = 6").run();
            db.prepare("UPDATE audit_events SET seq = 6 WHERE seq = -1").run();
            rechain(db, 4);
          }),
        1,
      ],
      [
        "truncate the newest events (back past the last checkpoint)",
        (c) => withDb(c, (db) => db.prepare("DELETE FROM audit_events WHERE seq >= ?").run(lastCheckpointSeq - 2)),
        lastCheckpointSeq - 2,
      ],
      ["delete every event", (c) => withDb(c, (db) => db.prepare("DELETE FROM audit_events").run()), 1],
      ["replace the database with a freshly built, self-consistent one", (c) => copyFileSync(foreign.db, c.db), 1],
      [
        "replace the database and the checkpoints with another broker's (its own key)",
        (c) => {
          copyFileSync(foreign.db, c.db);
          rmSync(c.checkpoints, { recursive: true });
          cpSync(foreign.checkpoints, c.checkpoints, { recursive: true });
        },
        1,
      ],
      [
        "edit a checkpoint file to match a rewritten range",
        (c) => {
          const file = join(c.checkpoints, checkpointFiles()[1]!);
          const cp = JSON.parse(readFileSync(file, "utf8"));
          chmodSync(file, 0o644);
          writeFileSync(file, JSON.stringify({ ...cp, merkleRoot: "0".repeat(64) }));
        },
        -1,
      ],
      ["delete a checkpoint file in the middle", (c) => rmSync(join(c.checkpoints, checkpointFiles()[1]!)), -1],
      [
        "put a later checkpoint under an earlier one's name",
        (c) => {
          const [, second, third] = checkpointFiles();
          rmSync(join(c.checkpoints, second!));
          copyFileSync(join(c.checkpoints, third!), join(c.checkpoints, second!));
        },
        -1,
      ],
    ];
    let detected = 0;
    const missed: string[] = [];
    for (const [index, [what, tamper, firstBad]] of cases.entries()) {
      const copy = copyOf(pristine, `case-${index}`);
      await tamper(copy);
      const result = await verify(copy);
      const answer = result.stdout ? JSON.parse(result.stdout) : {};
      if (result.code === EXIT.auditBroken && answer.ok === false) detected += 1;
      else missed.push(`${what}: exit ${result.code} ${result.stdout}${result.stderr}`);
      if (firstBad > 0) expect(answer.firstBadSeq, what).toBe(firstBad);
    }
    console.log(`${cases.length} tamperings, ${detected} detected`);
    expect(missed).toEqual([]);
    expect(detected).toBe(cases.length);
  });
});

// The same offline verification reading a PostgreSQL store: intact, then with one event rewritten behind its back.
const pgUp = await postgresStoreUp();
describe.runIf(pgUp)("offline verification of a PostgreSQL store", () => {
  it("verifies an intact log and names an edited event, exit 6", async () => {
    const schema = testSchema("eph_audit_offline");
    const dir = mkdtempSync(join(tmpdir(), "ephemera-pg-offline-"));
    const store = await openPostgresStore(schema.options);
    try {
      const clock = new ManualClock();
      const key = await loadCheckpointKey(store, new Sealer(randomBytes(32)), clock.now());
      const checkpointer = new Checkpointer({
        store,
        clock,
        logger: silentLogger(),
        key,
        every: 4,
        intervalMs: 60_000,
        sinkDir: join(dir, "checkpoints"),
        webhook: null,
      });
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 4; i++) {
          await store.apply({ writes: [], audit: [systemEvent("broker.started", clock.now(), "test", { round, i })] });
        }
        await checkpointer.runOnce();
      }
      const pin = `ed25519:${key.publicJwk.x}`;
      const args = ["audit", "verify", "--checkpoints", join(dir, "checkpoints"), "--store", STORE_TEST_URL];
      const intact = await run([...args, "--schema", schema.schema, "--key", pin]);
      expect(intact.code, intact.stdout + intact.stderr).toBe(0);
      expect(intact.stdout).toMatch(/^OK: audit chain intact/);

      await asSuperuser(async (c) => {
        await c.query(`ALTER TABLE ${schema.schema}.audit_events DISABLE TRIGGER USER`);
        await c.query(`UPDATE ${schema.schema}.audit_events SET data = '{"forged":true}' WHERE seq = 6`);
      });
      const edited = await run([...args, "--schema", schema.schema, "--key", pin]);
      expect(edited.code).toBe(EXIT.auditBroken);
      expect(edited.stdout).toMatch(/^BROKEN at event 6: hash_mismatch/);
    } finally {
      await store.close();
      await schema.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
