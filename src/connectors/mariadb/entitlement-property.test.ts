// Property: whatever identity ids, entitlement names and settings arrive, the connector either rejects the entitlement
// with a message naming the config path (and never the value), or makes exactly one account with exactly the
// privileges asked for — and never any other account or object.
import fc from "fast-check";
import type { RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Identity } from "../../domain/types.js";
import { replayableSeed } from "../../support/testing/random.js";
import type { EntitlementSpec } from "../connector.js";
import { activeGrant } from "../testing/contract.js";
import { grantFor, testIdentity } from "../testing/target-fixture.js";
import { expandedPrivileges, privilegesFor } from "./privileges.js";
import { parseGrantSpec } from "./settings.js";
import {
  accountsWithPrefix,
  type MariadbFixture,
  mariadbAvailable,
  mariadbFixture,
  TARGET_ID,
} from "./testing/fixture.js";

const up = await mariadbAvailable();

/** Marks generated values that must never be echoed in an error. */
const LEAK = "lEaK";

/** The properties' seed: EPHEMERA_TEST_SEED replays a failed run. */
const seed = replayableSeed();

describe.skipIf(!up)("mariadb entitlements (property)", () => {
  let f: MariadbFixture;
  beforeAll(async () => {
    // Root as the broker's admin here, so that valid `scope: global` entitlements can be granted too.
    f = await mariadbFixture({ admin: { user: "root", password: "" } });
  });
  afterAll(async () => {
    await f?.cleanup();
  });

  async function rows(sql: string, values: unknown[]): Promise<RowDataPacket[]> {
    const [result] = await f.root.query<RowDataPacket[]>(sql, values);
    return result;
  }

  async function databases(): Promise<string[]> {
    return (await rows("SHOW DATABASES", [])).map((r) => String(r.Database)).sort();
  }

  /** The privileges information_schema shows for the account, by where they apply. */
  async function privilegesOf(user: string) {
    const grantee = `'${user}'@'%'`;
    const global = await rows("SELECT PRIVILEGE_TYPE p FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ?", [
      grantee,
    ]);
    const schema = await rows(
      "SELECT TABLE_SCHEMA s, PRIVILEGE_TYPE p, IS_GRANTABLE g FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ?",
      [grantee],
    );
    const table = await rows(
      "SELECT TABLE_SCHEMA s, TABLE_NAME t, PRIVILEGE_TYPE p, IS_GRANTABLE g FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ?",
      [grantee],
    );
    return {
      global: global
        .map((r) => String(r.p))
        .filter((p) => p !== "USAGE")
        .sort(),
      schema: schema.map((r) => `${r.s}|${r.p}|${r.g}`).sort(),
      table: table.map((r) => `${r.s}.${r.t}|${r.p}|${r.g}`).sort(),
    };
  }

  it("rejects clearly or makes exactly the one expected account", async () => {
    const keyword = (scope: "database" | "table" | "global") =>
      fc.oneof(
        { weight: 30, arbitrary: fc.constantFrom(...privilegesFor(scope), "select", "all") },
        { weight: 1, arbitrary: fc.constantFrom("GRANT OPTION", "SUPER", "CREATE USER", "FILE", "SELECT;", "USAGE") },
        { weight: 1, arbitrary: fc.string().map((s) => `${LEAK}${s}`) },
        { weight: 1, arbitrary: fc.string({ unit: "grapheme" }) },
      );
    const privileges = (scope: "database" | "table" | "global") =>
      fc.oneof(
        { weight: 20, arbitrary: fc.uniqueArray(keyword(scope), { minLength: 1, maxLength: 3 }) },
        { weight: 1, arbitrary: fc.constant([]) },
        { weight: 1, arbitrary: fc.string().map((s) => `${LEAK}${s}`) },
      );
    const name = (valid: string) =>
      fc.oneof(
        { weight: 20, arbitrary: fc.constant(valid) },
        { weight: 1, arbitrary: fc.string({ unit: "binary" }).map((s) => `${LEAK}${s}`) },
        { weight: 1, arbitrary: fc.constantFrom("mysql", "a`b", "x'y", "", "a b", "MySQL", "other_db") },
        { weight: 1, arbitrary: fc.integer() },
      );
    // Mostly well-formed shapes of each scope, plus free-form records with every key optional and stray keys.
    const settings = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record(
          { database: name(f.database), privileges: privileges("database"), scope: fc.constant("database") },
          { requiredKeys: ["database", "privileges"] },
        ),
      },
      {
        weight: 3,
        arbitrary: fc.record(
          {
            database: name(f.database),
            table: fc.oneof(name("items"), fc.constant("nope")),
            privileges: privileges("table"),
            scope: fc.constant("table"),
          },
          { requiredKeys: ["database", "table", "privileges"] },
        ),
      },
      {
        weight: 2,
        arbitrary: fc.record(
          { scope: fc.constant("global"), privileges: privileges("global") },
          { requiredKeys: ["scope", "privileges"] },
        ),
      },
      {
        weight: 2,
        arbitrary: fc.record(
          {
            database: name(f.database),
            table: name("items"),
            privileges: privileges("database"),
            scope: fc.constantFrom("database", "table", "global", "server", `${LEAK}x`),
            note: fc.string().map((s) => `${LEAK}${s}`),
          },
          { requiredKeys: [] },
        ),
      },
    );
    const identity = fc.string({ unit: "binary" }).map((id): Identity => ({ ...testIdentity, id }));
    const entitlementName = fc.string({ unit: "binary", minLength: 1 });
    const before = await databases();

    await fc.assert(
      fc.asyncProperty(identity, entitlementName, settings, async (who, short, raw) => {
        const spec: EntitlementSpec = {
          name: `${TARGET_ID}/${short}`,
          targetId: TARGET_ID,
          defaultDurationSeconds: 300,
          maxDurationSeconds: 3600,
          risk: "low",
          settings: raw,
        };
        let parsed: ReturnType<typeof parseGrantSpec>;
        try {
          f.connector.validateEntitlement(spec);
          parsed = parseGrantSpec(spec);
        } catch (error) {
          const message = (error as Error).message;
          expect(message.startsWith(`targets.${TARGET_ID}.entitlements.`)).toBe(true);
          expect(message).toMatch(/: (must|is listed twice|unknown setting|ALL PRIVILEGES must be the only entry)/);
          expect(message.replace(short, "")).not.toContain(LEAK);
          expect(await accountsWithPrefix(f.root, f.prefix)).toEqual([]);
          return;
        }
        const grant = grantFor(f.connector, spec, who);
        let issued: Awaited<ReturnType<typeof f.connector.issue>>;
        try {
          issued = await f.connector.issue({ grant, identity: who, entitlement: spec, expiresAt: grant.expiresAt });
        } catch (error) {
          // Only a table that does not exist may make a valid entitlement fail here; then nothing stays behind.
          expect(String(error)).toMatch(/GRANT failed with ER_NO_SUCH_TABLE \(1146\)/);
          expect(await accountsWithPrefix(f.root, f.prefix)).toEqual([]);
          return;
        }
        const accounts = await accountsWithPrefix(f.root, f.prefix);
        // One user name (a twin on another host appears only beside an anonymous account another test file makes).
        expect(new Set(accounts.map((a) => a.slice(0, a.indexOf("@"))))).toEqual(new Set([grant.handle]));
        expect(accounts).toContain(`${grant.handle}@%`);

        const expected = expandedPrivileges(parsed.scope, parsed.privileges);
        const seen = await privilegesOf(grant.handle);
        if (parsed.scope === "global") {
          expect(seen).toEqual({ global: expected, schema: [], table: [] });
        } else if (parsed.scope === "database") {
          const pattern = parsed.database!.replace(/_/g, "\\_");
          expect(seen).toEqual({ global: [], schema: expected.map((p) => `${pattern}|${p}|NO`).sort(), table: [] });
        } else {
          const object = `${parsed.database}.${parsed.table}`;
          expect(seen).toEqual({ global: [], schema: [], table: expected.map((p) => `${object}|${p}|NO`).sort() });
        }

        await f.connector.revoke({ grant: activeGrant(grant, issued) });
        expect(await accountsWithPrefix(f.root, f.prefix)).toEqual([]);
      }),
      { numRuns: 50, seed },
    );
    expect(await databases()).toEqual(before);
  });
});
