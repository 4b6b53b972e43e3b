// Settings of http targets and entitlements: every mistake is named by its configuration path, no value is repeated.
import { describe, expect, it } from "vitest";
import { entitlement } from "../testing/target-fixture.js";
import { parseEntitlementSettings, parseTargetSettings } from "./settings.js";

const SECRET = "Bearer s3cr3t-t0ken-value";

function valid(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    baseUrl: "https://tickets.example/api/v2",
    headers: { Authorization: SECRET },
    add: { method: "PUT", path: "/users/{subject}/roles/{role}" },
    remove: { method: "DELETE", path: "/users/{subject}/roles/{role}" },
    check: { method: "GET", path: "/users/{subject}/roles/{role}" },
    ...overrides,
  };
}

function errorOf(settings: Record<string, unknown>): string {
  try {
    parseTargetSettings("tickets", settings);
  } catch (error) {
    const text = String(error);
    expect(text).not.toContain("s3cr3t");
    return text;
  }
  throw new Error("accepted");
}

describe("http target settings", () => {
  it("applies the defaults", () => {
    const parsed = parseTargetSettings("tickets", valid());
    expect(parsed.subjectAttribute).toBe("http_subject");
    expect(parsed.timeoutMs).toBe(5000);
    expect([...parsed.add.ok]).toEqual([200, 201, 202, 204]);
    expect([...parsed.remove.ok]).toEqual([200, 202, 204]);
    expect([...parsed.check.present]).toEqual([200]);
    expect([...parsed.check.absent]).toEqual([404]);
    expect(parsed.check.reading).toEqual({ kind: "status" });
    expect(parsed.listAccounts).toBeNull();
    expect(parsed.health).toBeNull();
    expect(JSON.stringify(parsed)).not.toContain("s3cr3t");
  });

  it.each([
    [{ baseUrl: undefined }, "targets.tickets.baseUrl: must be a non-empty string"],
    [{ baseUrl: "ftp://x" }, "targets.tickets.baseUrl: must be a URL starting http: or https://"],
    [{ baseUrl: "https://u:s3cr3t@x" }, "targets.tickets.baseUrl: must not carry credentials"],
    [{ baseUrl: "https://x/?key=s3cr3t" }, "targets.tickets.baseUrl: must not have a ?query or #fragment"],
    [{ headers: SECRET }, "targets.tickets.headers: must be an object"],
    [
      { headers: { Authorization: `${SECRET}\r\nX: y` } },
      "targets.tickets.headers.Authorization: must not contain line",
    ],
    [{ headers: { Authorization: ["s3cr3t"] } }, "targets.tickets.headers.Authorization: must be a string"],
    [{ headers: { "Bad Name": "x" } }, "targets.tickets.headers: header names must be HTTP tokens"],
    [{ headers: { Host: "x" } }, "targets.tickets.headers.Host: is set by the HTTP client"],
    [{ headers: { a: "1", A: "2" } }, "targets.tickets.headers.A: is given twice"],
    [{ subjectAttribute: "a b" }, "targets.tickets.subjectAttribute: must be 1-64 characters"],
    [{ timeoutMs: 10 }, "targets.tickets.timeoutMs: must be a whole number from 100 to 15000"],
    [{ add: undefined }, "targets.tickets.add: must be an object"],
    [{ add: { method: "TRACE", path: "/u/{subject}" } }, "targets.tickets.add.method: must be one of GET, POST"],
    [{ add: { method: "PUT", path: "/u/{subject}/{admin}" } }, "targets.tickets.add.path: {admin} is not a known"],
    [{ add: { method: "PUT", path: "/roles/{role}" } }, "targets.tickets.add.path: must name the account"],
    [{ add: { method: "PUT", path: "/u/{subject}", expect: [99] } }, "targets.tickets.add.expect[0]: must be an HTTP"],
    [{ add: { method: "PUT", path: "/u/{subject}", expect: {} } }, "targets.tickets.add.expect: must be a non-empty"],
    [{ add: { method: "PUT", path: "/u", body: { u: "{who}" } } }, "targets.tickets.add.body.u: {who} is not a known"],
    [{ add: { method: "PUT", path: "/u/{subject}", extra: 1 } }, "targets.tickets.add.extra: unknown setting"],
    [{ check: { method: "GET", path: "/u/{subject}", body: {} } }, "targets.tickets.check.body: is not sent with GET"],
    [{ check: { method: "GET", path: "/u", expect: [200] } }, "targets.tickets.check.expect: must be an object"],
    [
      { check: { method: "GET", path: "/u", expect: { present: [200], absent: [200] } } },
      "targets.tickets.check.expect.absent: must not share a status with present (200)",
    ],
    [
      { check: { method: "GET", path: "/u", expect: { pointer: "/roles" } } },
      "targets.tickets.check.expect.pointer: needs exactly one of contains",
    ],
    [
      { check: { method: "GET", path: "/u", expect: { contains: "{role}" } } },
      "targets.tickets.check.expect.contains: needs a pointer",
    ],
    [
      { check: { method: "GET", path: "/u", expect: { pointer: "/r", contains: "x", present: [500] } } },
      "targets.tickets.check.expect.present: must list 2xx statuses only",
    ],
    [{ listAccounts: { path: "/users/{subject}" } }, "targets.tickets.listAccounts.path: {subject} is not a known"],
    [{ listAccounts: { path: "/users", adminRoles: ["a b"] } }, "targets.tickets.listAccounts.adminRoles[0]"],
    [{ health: { method: "HEAD", path: "/", body: {} } }, "targets.tickets.health.body: is not sent with HEAD"],
    [{ rotate: {} }, "targets.tickets.rotate: unknown setting"],
  ])("refuses %j", (overrides, message) => {
    expect(errorOf(valid(overrides))).toContain(message);
  });

  it("reads a pointer check and a listing", () => {
    const parsed = parseTargetSettings(
      "tickets",
      valid({
        check: { method: "GET", path: "/users/{subject}", expect: { pointer: "/roles", contains: "{role}" } },
        listAccounts: { path: "/users", items: "/data", subject: "login", roles: "/groups/names" },
      }),
    );
    expect(parsed.check.reading.kind).toBe("contains");
    expect([...parsed.check.ok].sort()).toEqual([200, 404]);
    const list = parsed.listAccounts!;
    const none = { subject: "", role: "", grant: "" };
    const item = { login: "alice", groups: { names: ["agent"] } };
    expect(list.subject.resolve(item, none)).toBe("alice");
    expect(list.roles.resolve(item, none)).toEqual(["agent"]);
  });
});

describe("http entitlement settings", () => {
  it("reads the role and refuses anything else, by path", () => {
    expect(parseEntitlementSettings(entitlement("tickets", "triage", { role: "triage:write" }))).toEqual({
      role: "triage:write",
    });
    expect(() => parseEntitlementSettings(entitlement("tickets", "triage", { role: "a/b" }))).toThrow(
      "targets.tickets.entitlements.triage.role: must be 1-128 characters of A-Z a-z 0-9 . _ : - (and not only dots)",
    );
    expect(() => parseEntitlementSettings(entitlement("tickets", "triage", { role: ".." }))).toThrow(/not only dots/);
    expect(() => parseEntitlementSettings(entitlement("tickets", "triage", { role: "x", roles: ["y"] }))).toThrow(
      "targets.tickets.entitlements.triage.roles: unknown setting (known: role)",
    );
  });
});
