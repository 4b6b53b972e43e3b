// Settings of the rabbitmq connector, without a server: what is refused, how errors name the path and never the value.
import { describe, expect, it } from "vitest";
import { connectorContext, entitlement } from "../testing/target-fixture.js";
import { createRabbitmqConnector } from "./index.js";
import { apiPath } from "./management-api.js";
import { isPermissionPattern, parseEntitlementSettings, parseTargetSettings } from "./settings.js";

const SECRET = "s3cret-value-never-echoed";
const base = { username: "ephemera_admin", password: SECRET };

function targetError(settings: Record<string, unknown>): string {
  try {
    parseTargetSettings("mq", settings);
  } catch (error) {
    return String(error);
  }
  throw new Error("expected the settings to be refused");
}

describe("rabbitmq target settings", () => {
  it("defaults to the local management API and AMQP port, prefix eph_, no administrator tag", () => {
    const s = parseTargetSettings("mq", base);
    expect(s.managementUrl.href).toBe("http://127.0.0.1:15672/");
    expect(s.amqp).toEqual({ protocol: "amqp", hostname: "127.0.0.1", port: 5672 });
    expect(s).toMatchObject({
      username: "ephemera_admin",
      password: SECRET,
      prefix: "eph_",
      allowAdministratorTag: false,
    });
    expect(parseTargetSettings("mq", { ...base, amqpUrl: "amqps://mq.example" }).amqp).toEqual({
      protocol: "amqps",
      hostname: "mq.example",
      port: 5671,
    });
  });

  it.each([
    [
      { ...base, managementUrl: `http://admin:${SECRET}@127.0.0.1:15672` },
      /targets\.mq\.managementUrl: must not carry credentials/,
    ],
    [{ ...base, amqpUrl: `amqp://admin:${SECRET}@127.0.0.1` }, /targets\.mq\.amqpUrl: must not carry credentials/],
    [{ ...base, amqpUrl: `amqp://127.0.0.1/${SECRET}` }, /targets\.mq\.amqpUrl: must not name a vhost/],
    [
      { ...base, managementUrl: `http://127.0.0.1:15672/?p=${SECRET}` },
      /targets\.mq\.managementUrl: must not carry a query/,
    ],
    [
      { ...base, managementUrl: `ftp://${SECRET}` },
      /targets\.mq\.managementUrl: must be a URL starting http: or https:/,
    ],
    [{ ...base, amqpUrl: SECRET }, /targets\.mq\.amqpUrl: must be a URL/],
    [{ ...base, username: `a b ${SECRET}` }, /targets\.mq\.username: must be 1-64 characters/],
    [{ password: SECRET }, /targets\.mq\.username: must be a non-empty string/],
    [{ ...base, prefix: `Eph-${SECRET}` }, /targets\.mq\.prefix: must be 1-16 characters/],
    [{ ...base, allowAdministratorTag: "yes" }, /targets\.mq\.allowAdministratorTag: must be true or false/],
    [{ ...base, url: SECRET }, /targets\.mq\.url: unknown setting/],
  ])("refuses %j with a message naming the path, never the value", (settings, message) => {
    const text = targetError(settings);
    expect(text).toMatch(message);
    expect(text).not.toContain(SECRET);
  });

  it("the factory validates without connecting", () => {
    const connector = createRabbitmqConnector(
      { id: "mq", type: "rabbitmq", settings: { ...base, managementUrl: "http://127.0.0.1:1" } },
      connectorContext(),
    );
    expect(connector.type).toBe("rabbitmq");
    expect(() =>
      createRabbitmqConnector({ id: "mq", type: "rabbitmq", settings: { ...base, nope: 1 } }, connectorContext()),
    ).toThrow(/targets\.mq\.nope: unknown setting/);
  });
});

describe("rabbitmq entitlement settings", () => {
  const parse = (settings: Record<string, unknown>, allowAdministratorTag = false) =>
    parseEntitlementSettings(entitlement("mq", "orders", settings), { allowAdministratorTag });

  it("defaults every permission to ^$ and tags to none", () => {
    expect(parse({ vhost: "orders" })).toEqual({ vhost: "orders", configure: "^$", write: "^$", read: "^$", tags: [] });
    expect(parse({ vhost: "/", read: "^orders\\..*", tags: ["management", "management"] })).toMatchObject({
      vhost: "/",
      read: "^orders\\..*",
      tags: ["management"],
    });
  });

  it.each([
    [{}, /entitlements\.orders\.vhost: must be a non-empty string/],
    [{ vhost: `../${SECRET}` }, /entitlements\.orders\.vhost: must be \/ or 1-63 characters/],
    [{ vhost: "a/b" }, /entitlements\.orders\.vhost: must be \//],
    [{ vhost: "a%2Fb" }, /entitlements\.orders\.vhost: must be \//],
    [{ vhost: "v", read: `(${SECRET}` }, /entitlements\.orders\.read: must be a regular expression/],
    [
      { vhost: "v", write: "x".repeat(257) },
      /entitlements\.orders\.write: must be a regular expression of at most 256/,
    ],
    [{ vhost: "v", configure: `é${SECRET}` }, /entitlements\.orders\.configure: must be a regular expression/],
    [{ vhost: "v", configure: [SECRET] }, /entitlements\.orders\.configure: must be a regular expression/],
    [{ vhost: "v", tags: ["impersonator"] }, /entitlements\.orders\.tags\[0\]: must be one of/],
    [{ vhost: "v", tags: [SECRET] }, /entitlements\.orders\.tags\[0\]: must be one of/],
    [{ vhost: "v", tags: "management" }, /entitlements\.orders\.tags: must be a list/],
    [
      { vhost: "v", tags: ["administrator"] },
      /tags\[0\]: administrator is refused unless the target sets allowAdministratorTag/,
    ],
    [{ vhost: "v", injected: SECRET }, /entitlements\.orders\.injected: unknown setting/],
  ])("refuses %j with the path and the rule", (settings, message) => {
    let text = "";
    try {
      parse(settings);
    } catch (error) {
      text = String(error);
    }
    expect(text).toMatch(message);
    expect(text).not.toContain(SECRET);
  });

  it("hands out the administrator tag only where the target allows it", () => {
    expect(parse({ vhost: "v", tags: ["administrator"] }, true).tags).toEqual(["administrator"]);
  });

  it("accepts the regular expressions PCRE and JavaScript share, and refuses the ones they read differently", () => {
    for (const ok of ["", "^$", ".*", "^(amq\\.default|orders\\..*)$", "^[a-z0-9_.-]+$", "a{2,3}", "(?<n>x)\\k<n>"]) {
      expect(isPermissionPattern(ok), ok).toBe(true);
    }
    for (const bad of [
      "(",
      "\\c",
      "{",
      "]",
      "\\u0041",
      "\\p{L}",
      "(?<=a)b",
      "(?<!a)b",
      "[[:alpha:]]",
      "[]a",
      "[^]",
      "(?i)x",
      "\n",
    ]) {
      expect(isPermissionPattern(bad), bad).toBe(false);
    }
  });
});

describe("management API paths", () => {
  it("encode every interpolated value, so a name can never add a path segment or a query", () => {
    expect(apiPath`/users/${"a/../b?x=1#f"}`.encoded).toBe("/users/a%2F..%2Fb%3Fx%3D1%23f");
    expect(apiPath`/permissions/${"/"}/${"eph_x"}`.encoded).toBe("/permissions/%2F/eph_x");
    expect(apiPath`/whoami`.encoded).toBe("/whoami");
  });
});
