// Property: whatever identity, entitlement name and settings come in, the connector either refuses them with an error
// naming the path, or makes exactly the one ACL user of the grant with exactly the rules configured — never anything else.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Identity } from "../../domain/types.js";
import { randomToken } from "../../support/ids.js";
import { replayableSeed } from "../../support/testing/random.js";
import type { Connector, EntitlementSpec } from "../connector.js";
import { connectorContext, grantFor, testIdentity } from "../testing/target-fixture.js";
import { createRedisConnector } from "./redis-connector.js";
import {
  createBrokerUser,
  deleteUsersWithPrefix,
  rawConnection,
  redisUp,
  testPrefix,
  usersWithPrefix,
} from "./testing/fixture.js";

const up = await redisUp();
const TARGET = "cache";

/** Commands whose permission the test reads back with ACL DRYRUN, with arguments that satisfy their arity. */
const PROBES: Readonly<Record<string, (key: string) => string[]>> = {
  get: (key) => ["get", key],
  set: (key) => ["set", key, "v"],
  del: (key) => ["del", key],
  ping: () => ["ping"],
  flushall: () => ["flushall"],
  keys: () => ["keys", "*"],
};

/** Rules validation accepts (one Redis refuses: an unknown command). */
const VALID_RULES = [
  "+get",
  "-get",
  "+set",
  "-set",
  "+del",
  "-del",
  "+ping",
  "-ping",
  "-flushall",
  "-keys",
  "-@all",
  "+@read",
  "-@read",
  "+@write",
  "-@write",
  "+@string",
  "-@string",
  "+@fast",
  "-@fast",
  "+@keyspace",
  "-@keyspace",
  "+config|help",
  "+client|setname",
  "+nosuchcmd",
];
/** Rules validation must refuse. */
const INVALID_RULES = [
  "+@all",
  "+@admin",
  "+@dangerous",
  "+flushall",
  "+keys",
  "+acl",
  "+config|get",
  "+client",
  "get",
  "+GET",
  "+get foo",
  "on",
  "nopass",
  ">pw",
  "~*",
  "allcommands",
  "+get|a|b",
];

function patterns(keyspace: string) {
  const valid = fc.constantFrom(`${keyspace}:*`, `${keyspace}:a?`, `${keyspace}:[ab]`, "*", "x", "{tag}:*");
  const any = fc.oneof(
    { arbitrary: fc.string({ maxLength: 12 }), weight: 2 },
    { arbitrary: fc.string({ unit: "binary", maxLength: 6 }), weight: 1 },
    { arbitrary: fc.constantFrom("%R~x", "~x", "&x", "a b", ">pw", "(x", "", "x".repeat(129)), weight: 2 },
    { arbitrary: valid, weight: 2 },
  );
  return fc.oneof(
    { arbitrary: fc.array(valid, { maxLength: 3 }), weight: 3 },
    { arbitrary: fc.array(any, { maxLength: 4 }), weight: 1 },
  );
}

/** The patterns field of ACL GETUSER for the configured patterns: each once, or `*` alone (all keys/channels). */
function asRedisKeeps(configured: readonly string[], sigil: string): string {
  const kept = configured.includes("*") ? ["*"] : [...new Set(configured)];
  return kept.map((p) => `${sigil}${p}`).join(" ");
}

function commandRules() {
  const any = fc.oneof(
    { arbitrary: fc.constantFrom(...VALID_RULES, ...INVALID_RULES), weight: 4 },
    { arbitrary: fc.string({ maxLength: 8 }), weight: 1 },
  );
  return fc.oneof(
    {
      arbitrary: fc.array(fc.constantFrom(...VALID_RULES.filter((r) => r !== "+nosuchcmd")), {
        minLength: 1,
        maxLength: 5,
      }),
      weight: 3,
    },
    { arbitrary: fc.array(any, { maxLength: 5 }), weight: 2 },
  );
}

/** The properties' seed: EPHEMERA_TEST_SEED replays a failed run. */
const seed = replayableSeed();

describe.skipIf(!up)("redis connector property: refused, or exactly the expected ACL user", () => {
  const prefix = testPrefix();
  const keyspace = `${prefix}k`;
  let raw: Awaited<ReturnType<typeof rawConnection>>;
  let connector: Connector;
  const categories = new Map<string, readonly string[]>();

  beforeAll(async () => {
    raw = await rawConnection();
    const { user, password } = await createBrokerUser(raw, `${prefix}broker`);
    connector = createRedisConnector(
      { id: TARGET, type: "redis", settings: { url: `redis://${user}@127.0.0.1:6379`, password, prefix } },
      connectorContext(),
    );
    const info = (await raw.call("COMMAND", "INFO", ...Object.keys(PROBES))) as unknown[][];
    for (const entry of info) categories.set(String(entry[0]), (entry[6] as unknown[]).map(String));
  });
  afterAll(async () => {
    await connector?.close();
    await deleteUsersWithPrefix(raw, prefix);
    raw.disconnect();
  });

  /** What the rules allow for `command`, read the way Redis applies them: in order, the last matching rule wins. */
  function allowed(rules: readonly string[], command: string): boolean {
    let allow = false;
    for (const rule of rules) {
      const sign = rule[0] === "+";
      const what = rule.slice(1);
      if (what === command) allow = sign;
      else if (what === "@all" || (what.startsWith("@") && categories.get(command)?.includes(what))) allow = sign;
    }
    return allow;
  }

  async function userFields(name: string): Promise<Record<string, unknown>> {
    const reply = (await raw.call("ACL", "GETUSER", name)) as unknown[];
    return Object.fromEntries(
      Array.from({ length: reply.length / 2 }, (_, i) => [String(reply[2 * i]), reply[2 * i + 1]]),
    );
  }

  it("holds for arbitrary identity ids, entitlement names and settings values", async () => {
    const before = await usersWithPrefix(raw, prefix);
    let issued = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: "grapheme", maxLength: 20 }),
        fc.string({ maxLength: 16 }),
        patterns(keyspace),
        commandRules(),
        patterns(keyspace),
        fc.oneof(
          { arbitrary: fc.constant(undefined), weight: 7 },
          { arbitrary: fc.string({ maxLength: 8 }), weight: 1 },
        ),
        async (identityId, entitlementName, keys, commands, channels, stray) => {
          const identity: Identity = { ...testIdentity, id: identityId };
          const spec: EntitlementSpec = {
            name: `${TARGET}/${entitlementName}`,
            targetId: TARGET,
            defaultDurationSeconds: 300,
            maxDurationSeconds: 3600,
            risk: "low",
            settings: { keys, commands, channels, ...(stray === undefined ? {} : { [`x${stray}`]: stray }) },
          };
          const grant = grantFor(connector, spec, identity);
          let valid = true;
          try {
            connector.validateEntitlement(spec);
          } catch (error) {
            valid = false;
            expect(String(error)).toMatch(/^Error: targets\.cache\.entitlements\..*: /);
          }
          if (valid) {
            let response: Awaited<ReturnType<Connector["issue"]>> | null = null;
            try {
              response = await connector.issue({ grant, identity, entitlement: spec, expiresAt: grant.expiresAt });
            } catch (error) {
              // Only Redis itself may refuse what validation let through (an unknown command name), cleanly.
              expect(String(error)).toMatch(/^Error: targets\.cache: ACL SETUSER \S+ failed: ERR /);
            }
            if (response) {
              issued += 1;
              try {
                expect(await usersWithPrefix(raw, prefix)).toEqual([...before, grant.handle].sort());
                const user = await userFields(grant.handle);
                expect(user.flags).toContain("on");
                expect(user.passwords).toHaveLength(1);
                expect(user.keys).toBe(asRedisKeeps(keys, "~"));
                expect(user.channels).toBe(asRedisKeeps(channels, "&"));
                expect(user.selectors).toEqual([]);
                const effective = ["-@all", ...commands, "-@dangerous"];
                for (const [command, args] of Object.entries(PROBES)) {
                  const verdict = String(await raw.call("ACL", "DRYRUN", grant.handle, ...args(`${keyspace}:probe`)));
                  const ran = !verdict.includes(`permissions to run the '${command}' command`);
                  expect(ran, `${command} under ${commands.join(" ")}`).toBe(allowed(effective, command));
                }
              } finally {
                await connector.revoke({ grant });
              }
            }
          }
          expect(await usersWithPrefix(raw, prefix)).toEqual(before);
        },
      ),
      { numRuns: 40, seed },
    );
    // The generators must reach the success path, or the property proves little.
    expect(issued).toBeGreaterThan(5);
  });

  it("target settings are refused with the path and never echo a value, or accepted", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.constantFrom("redis://127.0.0.1", "redis://u@127.0.0.1:6380/1", "rediss://h")),
        fc.oneof(fc.string(), fc.constant(undefined), fc.integer()),
        fc.oneof(fc.string({ maxLength: 20 }), fc.constant(undefined), fc.constant("eph_")),
        (url, password, prefixSetting) => {
          const secret = randomToken(20);
          const settings: Record<string, unknown> = { url: url.replace("@", `:${secret}@`) };
          if (password !== undefined)
            settings.password = typeof password === "string" ? `${password}${secret}` : password;
          if (prefixSetting !== undefined) settings.prefix = prefixSetting;
          try {
            createRedisConnector({ id: TARGET, type: "redis", settings }, connectorContext());
          } catch (error) {
            expect(String(error)).toMatch(/^Error: targets\.cache\.(url|password|prefix): /);
            expect(String(error)).not.toContain(secret);
          }
        },
      ),
      { numRuns: 200, seed },
    );
  });
});
