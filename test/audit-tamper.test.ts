// Through the API of a restarted broker: an audit log edited, cut or reordered behind the broker's back is reported.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openDatabase, type SqliteConnection } from "../src/storage/sqlite/driver.js";
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
