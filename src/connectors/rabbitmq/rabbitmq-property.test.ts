// Property: whatever identity, entitlement name and settings come in, the connector either refuses them with an error
// naming the path, or makes exactly the one user of the grant with exactly the configured tags and one permission row.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Identity } from "../../domain/types.js";
import { replayableSeed } from "../../support/testing/random.js";
import type { Connector, EntitlementSpec, IssueResponse } from "../connector.js";
import { connectorContext, grantFor, testIdentity, uniqueName } from "../testing/target-fixture.js";
import { createRabbitmqConnector } from "./index.js";
import { isPermissionPattern } from "./settings.js";
import {
  allPermissions,
  api,
  createVhost,
  deleteVhost,
  type PermissionRow,
  rabbitmqAvailable,
  rabbitTarget,
  removeUsersWithPrefix,
  testPrefix,
  usersWithPrefix,
} from "./testing/rabbitmq-fixture.js";

const up = await rabbitmqAvailable();
const TARGET = "mqprop";
const prefix = testPrefix();
const vhost = uniqueName("eph_vh_prop");
const missingVhost = uniqueName("eph_vh_nope");

beforeAll(async () => {
  if (up) await createVhost(vhost);
});
afterAll(async () => {
  if (!up) return;
  await removeUsersWithPrefix(prefix);
  await deleteVhost(vhost);
});

/** Pieces of regular expressions, both ones PCRE takes and ones it refuses or reads differently. */
const REGEX_PIECES = [
  ..."^$.*+?()[]{}|\\/-:=!<>,aZ09_ ".split(""),
  "\\d",
  "\\w",
  "\\.",
  "\\c",
  "\\u0041",
  "\\p{L}",
  "(?<=a)",
  "(?<n>x)",
  "[:alpha:]",
  "[]",
  "[^]",
  "[a-]",
  "\\k<n>",
  "{2,3}",
  "(?i)",
];

function pattern() {
  return fc.oneof(
    { arbitrary: fc.constantFrom("^$", ".*", "", "^eph_q\\..*", "^(amq\\.default|eph_q\\..*)$", "a{2,}"), weight: 12 },
    { arbitrary: fc.array(fc.constantFrom(...REGEX_PIECES), { maxLength: 8 }).map((p) => p.join("")), weight: 4 },
    { arbitrary: fc.string({ maxLength: 12 }), weight: 1 },
    { arbitrary: fc.string({ unit: "binary", maxLength: 6 }), weight: 1 },
    { arbitrary: fc.constantFrom("a".repeat(256), "a".repeat(257)), weight: 1 },
    { arbitrary: fc.constantFrom(null, 7, [".*"], { re: ".*" }), weight: 1 },
  );
}

function vhostValue() {
  return fc.oneof(
    { arbitrary: fc.constant(vhost), weight: 10 },
    { arbitrary: fc.constant(missingVhost), weight: 1 },
    { arbitrary: fc.string({ maxLength: 10 }).map((s) => `${vhost}${s}`), weight: 1 },
    { arbitrary: fc.string({ unit: "grapheme", maxLength: 8 }), weight: 1 },
    { arbitrary: fc.constantFrom("../x", "a%2Fb", "a/b", "%", "", " ", `${vhost}\n`), weight: 1 },
  );
}

function tags() {
  const valid = fc.constantFrom("management", "monitoring", "policymaker", "administrator");
  const tag = fc.constantFrom("management", "administrator", "impersonator", "Management", "");
  return fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 4 },
    { arbitrary: fc.array(valid, { maxLength: 3 }), weight: 4 },
    { arbitrary: fc.array(tag, { maxLength: 2 }), weight: 1 },
    { arbitrary: fc.string({ maxLength: 8 }), weight: 1 },
    { arbitrary: fc.array(fc.string({ maxLength: 6 }), { maxLength: 2 }), weight: 1 },
  );
}

const maybe = <T>(arbitrary: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 1 }, { arbitrary, weight: 4 });

/** The properties' seed: EPHEMERA_TEST_SEED replays a failed run. */
const seed = replayableSeed();

describe.skipIf(!up)("rabbitmq connector property: refused, or exactly the expected user and permission", () => {
  const strict = createRabbitmqConnector(rabbitTarget(TARGET, prefix), connectorContext());
  const lenient = createRabbitmqConnector(
    rabbitTarget(TARGET, prefix, { allowAdministratorTag: true }),
    connectorContext(),
  );
  afterAll(async () => {
    await strict.close();
    await lenient.close();
  });

  /** Permission rows of this file's users, or on this file's vhosts: what a run may touch. */
  async function ours(): Promise<PermissionRow[]> {
    return (await allPermissions())
      .filter((p) => p.user.startsWith(prefix) || p.vhost === vhost || p.vhost === missingVhost)
      .sort((a, b) => `${a.user}/${a.vhost}`.localeCompare(`${b.user}/${b.vhost}`));
  }

  it("holds for arbitrary identity ids, entitlement names and settings values", async () => {
    const usersBefore = await usersWithPrefix(prefix);
    const permissionsBefore = await ours();
    const outcomes = { refused: 0, missingVhost: 0, issued: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: "grapheme", maxLength: 20 }),
        fc.string({ maxLength: 16 }),
        fc.oneof({ arbitrary: fc.constant(undefined), weight: 1 }, { arbitrary: vhostValue(), weight: 9 }),
        maybe(pattern()),
        maybe(pattern()),
        maybe(pattern()),
        tags(),
        fc.oneof(
          { arbitrary: fc.constant(undefined), weight: 10 },
          { arbitrary: fc.string({ maxLength: 8 }), weight: 1 },
        ),
        fc.boolean(),
        async (identityId, name, vh, configure, write, read, tagList, stray, allowAdmin) => {
          const connector: Connector = allowAdmin ? lenient : strict;
          const settings: Record<string, unknown> = {};
          for (const [key, value] of Object.entries({ vhost: vh, configure, write, read, tags: tagList })) {
            if (value !== undefined) settings[key] = value;
          }
          if (stray !== undefined) settings[`x${stray}`] = stray;
          const identity: Identity = { ...testIdentity, id: identityId };
          const spec: EntitlementSpec = {
            name: `${TARGET}/${name}`,
            targetId: TARGET,
            defaultDurationSeconds: 300,
            maxDurationSeconds: 3600,
            risk: "low",
            settings,
          };
          try {
            connector.validateEntitlement(spec);
          } catch (error) {
            outcomes.refused++;
            expect(String(error)).toMatch(
              /^Error: targets\.mqprop\.entitlements\..*\.(vhost|configure|write|read|tags|tags\[\d+\]|x.*): \S/,
            );
            expect(await usersWithPrefix(prefix)).toEqual(usersBefore);
            return;
          }
          // What validation let through is well-formed by RabbitMQ's rules.
          expect(typeof vh === "string" && /^(\/|[A-Za-z0-9_][A-Za-z0-9_.-]*)$/.test(vh)).toBe(true);
          for (const p of [configure, write, read]) {
            // Absent or null (YAML `read:` with nothing) means the default, ^$.
            if (p !== undefined && p !== null)
              expect(typeof p === "string" && p.length <= 256 && /^[\x20-\x7e]*$/.test(p)).toBe(true);
          }
          const expectedTags = [...new Set((tagList as string[] | undefined) ?? [])];
          if (!allowAdmin) expect(expectedTags).not.toContain("administrator");

          const grant = grantFor(connector, spec, identity);
          let response: IssueResponse | null = null;
          try {
            response = await connector.issue({ grant, identity, entitlement: spec, expiresAt: grant.expiresAt });
          } catch (error) {
            // The one refusal validation cannot make without the network: a vhost that does not exist.
            outcomes.missingVhost++;
            expect(String(error)).toMatch(/^Error: targets\.mqprop\.entitlements\..*\.vhost: no such vhost/);
            expect(await usersWithPrefix(prefix)).toEqual(usersBefore);
            return;
          }
          outcomes.issued++;
          try {
            expect(await usersWithPrefix(prefix)).toEqual([...usersBefore, grant.handle].sort());
            const user = (await api("GET", `/users/${grant.handle}`)).body as { tags: string[] };
            expect([...user.tags].sort()).toEqual([...expectedTags].sort());
            const expectedRow: PermissionRow = {
              user: grant.handle,
              vhost: vh as string,
              configure: (configure as string | undefined) ?? "^$",
              write: (write as string | undefined) ?? "^$",
              read: (read as string | undefined) ?? "^$",
            };
            const after = await ours();
            expect(after.filter((p) => p.user === grant.handle)).toEqual([expectedRow]);
            expect(after.filter((p) => p.user !== grant.handle)).toEqual(permissionsBefore);
          } finally {
            await connector.revoke({ grant });
          }
          expect(await usersWithPrefix(prefix)).toEqual(usersBefore);
          expect(await ours()).toEqual(permissionsBefore);
          const verified = await connector.verifyRemoved({
            grant: { ...grant, issuedAt: grant.createdAt },
            probe: response.probe ?? null,
          });
          expect(verified.removed).toBe(true);
        },
      ),
      { numRuns: 50, seed },
    );
    console.info(`rabbitmq property outcomes: ${JSON.stringify(outcomes)}`);
    // The run exercised both sides of the property.
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.issued).toBeGreaterThan(0);
  });

  it("every permission pattern validation accepts is one RabbitMQ's PCRE accepts too", async () => {
    const user = `${prefix}pcre`;
    expect((await api("PUT", `/users/${user}`, { password: "pcre-probe-password-1", tags: "" })).status).toBe(201);
    const path = `/permissions/${encodeURIComponent(vhost)}/${user}`;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          {
            arbitrary: fc.array(fc.constantFrom(...REGEX_PIECES), { maxLength: 10 }).map((p) => p.join("")),
            weight: 4,
          },
          { arbitrary: fc.string({ maxLength: 12 }), weight: 1 },
        ),
        async (candidate) => {
          if (!isPermissionPattern(candidate)) return;
          accepted++;
          const answer = await api("PUT", path, { configure: candidate, write: "^$", read: "^$" });
          expect([201, 204], `${candidate} → ${JSON.stringify(answer.body)}`).toContain(answer.status);
        },
      ),
      { numRuns: 150, seed },
    );
    expect(accepted).toBeGreaterThan(10);
    await api("DELETE", `/users/${user}`);
  });
});
