// Command-line sessions of people: found only by the hash of the whole token, refused once expired, malformed or
// unknown, and refused (403-style, naming the status) as soon as the person is offboarded.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Identity } from "../domain/index.js";
import { openSqliteStore, type SqliteStore } from "../storage/sqlite/index.js";
import { ManualClock } from "../support/clock.js";
import { newPersonSessionToken, PersonSessionAuthenticator, personSessions } from "./person-sessions.js";

const dana: Identity = {
  id: "dana@example.test",
  kind: "human",
  owner: "dana@example.test",
  groups: [],
  attributes: {},
  status: "active",
  admin: false,
};

describe("person sessions", () => {
  let dir: string;
  let store: SqliteStore;
  let clock: ManualClock;
  let person: Identity;
  let auth: PersonSessionAuthenticator;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-person-session-"));
    store = await openSqliteStore(join(dir, "t.db"));
    clock = new ManualClock(Date.UTC(2026, 5, 1));
    person = dana;
    auth = new PersonSessionAuthenticator(store, clock, async (id) => (id === person.id ? person : undefined));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(ttlMs: number): Promise<string> {
    const made = newPersonSessionToken();
    const expiresAt = clock.now() + ttlMs;
    await store.apply({
      writes: [
        personSessions.put(
          made.hash,
          { id: made.id, identityId: dana.id, createdAt: clock.now(), expiresAt },
          expiresAt,
        ),
      ],
      audit: [
        {
          time: clock.now(),
          code: "auth.session_opened",
          severity: "notice",
          outcome: "success",
          actor: { type: "identity", id: dana.id },
          requestId: null,
          grantId: null,
          identityId: dana.id,
          data: {},
        },
      ],
    });
    return made.token;
  }
  const present = (token: string) => auth.authenticate({ authorization: `Bearer ${token}` });

  it("admits the person until the session expires", async () => {
    const token = await open(60_000);
    expect(auth.accepts({ authorization: `Bearer ${token}` })).toBe(true);
    expect(await present(token)).toMatchObject({ ok: true, identity: { id: dana.id }, method: "person_session" });
    clock.advance(60_000);
    expect(await present(token)).toMatchObject({ ok: false, reason: expect.stringContaining("expired") });
  });

  it("refuses a malformed, an unknown and an altered token", async () => {
    const token = await open(60_000);
    expect(await present("ephs_short")).toMatchObject({ ok: false, reason: expect.stringContaining("malformed") });
    expect(await present(newPersonSessionToken().token)).toMatchObject({ ok: false });
    const altered = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
    expect(await present(altered)).toMatchObject({ ok: false, reason: expect.stringContaining("not recognised") });
  });

  it("refuses the session of an offboarded person, naming the status", async () => {
    const token = await open(60_000);
    person = { ...dana, status: "offboarded" };
    expect(await present(token)).toMatchObject({ ok: false, inactive: { status: "offboarded" } });
  });
});
