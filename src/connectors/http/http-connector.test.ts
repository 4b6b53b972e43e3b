// The http connector against the in-memory ticketing tool on 127.0.0.1: the contract, the facts behind its removal
// order, discovery, rotation and health, and that the API token never leaves the request headers.
import { Writable } from "node:stream";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../support/logger.js";
import type { Connector, EntitlementSpec } from "../connector.js";
import { activeGrant, type ContractSubject, describeConnectorContract } from "../testing/contract.js";
import { requireService } from "../testing/services.js";
import { createHttpConnector } from "./index.js";
import { type HttpFixture, httpFixture, login, openQueue } from "./testing/http-fixture.js";
import { TicketingService } from "./testing-service.js";

const up = await requireService("http ticketing test service", async () => {
  const probe = await TicketingService.start();
  await probe.close();
});

let f: HttpFixture;
const logLines: string[] = [];
if (up) {
  f = await httpFixture({
    logger: createLogger({
      level: "debug",
      destination: new Writable({
        write(chunk, _encoding, done) {
          logLines.push(String(chunk));
          done();
        },
      }),
    }),
  });
}
afterAll(async () => {
  await f?.close();
});

/**
 * A contract subject for `settings`: each grant elevates a fresh user of the ticketing tool to `triage`, and `identity`
 * is the identity of the last grant made. A handle names the membership (`<subject>:<role>`), so two grants of one
 * identity share it by design (reference-counted, tested below); the contract's "each grant has its own handle" holds
 * for grants of different accounts.
 */
function subjectFor(settings: Record<string, unknown>, targetId: string): ContractSubject {
  const connector = f.connector(settings, targetId);
  const spec = f.entitlement(connector, "triage");
  const url = f.service.url;
  let current = f.user(["reader"]);
  const works = async (subject: string, role: string, session?: string | null) => {
    const open = session === undefined ? await login(url, subject) : session;
    return open !== null && (await openQueue(url, open, role)) === 200;
  };
  return {
    connector,
    get identity() {
      return current.identity;
    },
    entitlement: spec,
    makeGrant() {
      current = f.user(["reader"]);
      return f.grant(connector, spec, current.identity);
    },
    credentialHasNoSecret: true,
    async useCredential(credential) {
      const { subject, role } = credential.fields.reveal();
      return works(subject ?? "", role ?? "");
    },
    async openSession(credential) {
      const { subject, role } = credential.fields.reveal();
      const session = await login(url, subject ?? "");
      if (!session) throw new Error("login refused");
      return { usable: () => works(subject ?? "", role ?? "", session), close: async () => {} };
    },
    async cleanup() {
      await connector.close();
    },
  };
}

if (up) {
  describeConnectorContract("http (status check, PUT/DELETE)", async () => subjectFor(f.settings(), "tickets"));

  describeConnectorContract("http (JSON bodies, pointer check)", async () =>
    subjectFor(
      f.settings({
        add: { method: "POST", path: "/api/memberships", body: { user: "{subject}", role: "{role}" }, expect: [201] },
        remove: { method: "POST", path: "/api/memberships/remove", body: { user: "{subject}", role: "{role}" } },
        check: {
          method: "GET",
          path: "/api/users/{subject}",
          expect: { pointer: "/roles", contains: "{role}" },
        },
      }),
      "tickets-json",
    ),
  );
}

describe.skipIf(!up)("http connector", () => {
  let connector: Connector;
  let spec: EntitlementSpec;
  beforeAll(() => {
    connector = f.connector();
    spec = f.entitlement(connector, "triage");
  });

  describe("measured facts of the ticketing tool (why removal works as it does)", () => {
    const api = (method: string, path: string) =>
      fetch(`${f.service.url}${path}`, { method, headers: { authorization: `Bearer ${f.service.adminToken}` } });

    it("a role removed downstream stops working at once in a session opened before: no separate session step", async () => {
      const { subject } = f.user(["triage"]);
      const session = (await login(f.service.url, subject))!;
      expect(await openQueue(f.service.url, session, "triage")).toBe(200);
      expect((await api("DELETE", `/api/users/${subject}/roles/triage`)).status).toBe(204);
      expect(await openQueue(f.service.url, session, "triage")).toBe(403);
    });

    it("memberships are not counted: two adds and one remove leave none, so the broker counts grants itself", async () => {
      const { subject } = f.user();
      expect((await api("PUT", `/api/users/${subject}/roles/triage`)).status).toBe(204);
      expect((await api("PUT", `/api/users/${subject}/roles/triage`)).status).toBe(204);
      expect((await api("DELETE", `/api/users/${subject}/roles/triage`)).status).toBe(204);
      expect((await api("GET", `/api/users/${subject}/roles/triage`)).status).toBe(404);
    });

    it("removing a membership that is not there answers 404, which revoke takes as already gone", async () => {
      const { subject } = f.user();
      expect((await api("DELETE", `/api/users/${subject}/roles/triage`)).status).toBe(404);
    });

    it("an add whose answer is lost still took effect, so a failed issue must undo it", async () => {
      const { subject } = f.user();
      f.service.inject({ kind: "lose" }, { match: (m) => m === "PUT" });
      await expect(api("PUT", `/api/users/${subject}/roles/triage`)).rejects.toThrow();
      expect(f.service.rolesOf(subject)).toEqual(["triage"]);
    });
  });

  it("prepare names the membership <subject>:<role> and refuses an identity without the subject attribute", () => {
    const { subject, identity } = f.user();
    const prepared = connector.prepare({ grantId: "grt_0000000000000000000000000", identity, entitlement: spec });
    expect(prepared).toEqual({ handle: `${subject}:triage`, handleData: { subject, role: "triage" } });
    const bare = { ...identity, attributes: {} };
    expect(() => connector.prepare({ grantId: "grt_x", identity: bare, entitlement: spec })).toThrow(
      /identity 'ci-deploy': attribute 'http_subject' \(named by targets\.tickets\.subjectAttribute\) is missing/,
    );
    try {
      connector.prepare({ grantId: "grt_x", identity: bare, entitlement: spec });
    } catch (error) {
      // The caller's problem (400), not a broker fault.
      expect(error).toMatchObject({ code: "invalid_request" });
    }
    const bad = { ...identity, attributes: { http_subject: "alice/../admin" } };
    expect(() => connector.prepare({ grantId: "grt_x", identity: bad, entitlement: spec })).toThrow(
      /attribute 'http_subject' .* must be 1-128 characters/,
    );
  });

  it("the credential says what was granted and holds no secret", async () => {
    const { subject, identity } = f.user();
    const grant = f.grant(connector, spec, identity);
    const issued = await connector.issue({ grant, identity, entitlement: spec, expiresAt: grant.expiresAt });
    expect(issued.probe).toBeUndefined();
    expect(issued.credential.fields.reveal()).toEqual({
      subject,
      role: "triage",
      expiresAt: new Date(grant.expiresAt).toISOString(),
    });
    expect(issued.credential.env.reveal()).toMatchObject({
      EPHEMERA_HTTP_SUBJECT: subject,
      EPHEMERA_HTTP_ROLE: "triage",
    });
    await connector.revoke({ grant: activeGrant(grant, issued) });
  });

  it("listAccounts reports standing memberships: an unmanaged admin, the broker's own account, managed elevations", async () => {
    const { subject: admin } = f.user(["admin", "reader"]);
    const { subject: elevated } = f.user(["triage"]);
    const accounts = await connector.listAccounts();
    expect(accounts.find((a) => a.handle === `${admin}:admin`)).toEqual({
      handle: `${admin}:admin`,
      managed: false,
      expiresAt: null,
      privileges: ["role admin"],
      admin: true,
    });
    expect(accounts.find((a) => a.handle === `${admin}:reader`)).toMatchObject({ managed: false, admin: false });
    expect(accounts.find((a) => a.handle === "ephemera-bot:admin")).toMatchObject({
      broker: true,
      admin: true,
      managed: false,
    });
    expect(accounts.find((a) => a.handle === `${elevated}:triage`)).toMatchObject({ managed: true, admin: false });
    await expect(connector.removeAccount(`${admin}:admin`)).rejects.toThrow(/not a membership the broker manages/);
    expect(f.service.rolesOf(admin)).toEqual(["admin", "reader"]);
    expect(await connector.removeAccount(`${elevated}:triage`)).toBe(true);
  });

  it("without a listAccounts call nothing is listed, and it says so once", async () => {
    const settings = f.settings();
    delete settings.listAccounts;
    const unlisted = f.connector(settings, "tickets-unlisted");
    const before = logLines.length;
    expect(await unlisted.listAccounts()).toEqual([]);
    expect(await unlisted.listAccounts()).toEqual([]);
    const warnings = logLines.slice(before).filter((line) => line.includes("listAccounts is not configured"));
    expect(warnings).toHaveLength(1);
  });

  it("rotateAdminSecret does not rotate a SaaS token it does not own, and says where to do it", async () => {
    const result = await connector.rotateAdminSecret();
    expect(result.rotated).toBe(false);
    expect(result.detail).toMatch(/rotate it in the SaaS and update the config/);
    expect(result.detail).not.toContain(f.service.adminToken);
    expect(await connector.healthy()).toBe(true);
  });

  it("healthy follows the health call, or a HEAD of the base URL without one", async () => {
    const settings = f.settings();
    delete settings.health;
    const headOnly = f.connector(settings, "tickets-head");
    expect(await headOnly.healthy()).toBe(true);
    const wrongToken = f.connector(f.settings({ headers: { Authorization: "Bearer wrong" } }), "tickets-bad");
    const checked = f.connector(
      f.settings({ headers: { Authorization: "Bearer wrong" }, health: { path: "/api/users" } }),
      "tickets-bad-health",
    );
    expect(await wrongToken.healthy()).toBe(true); // /healthz needs no token
    expect(await checked.healthy()).toBe(false); // 401
    const nowhere = f.connector(f.settings({}, "http://127.0.0.1:9"), "tickets-nowhere");
    expect(await nowhere.healthy()).toBe(false);
  });

  it("the API token never reaches errors, evidence, handle data, logs or an inspected connector", async () => {
    const token = f.service.adminToken;
    const texts: string[] = [];
    const { identity } = f.user();
    const grant = f.grant(connector, spec, identity);
    // The target echoes the Authorization header in its error bodies.
    f.service.inject({ kind: "status", status: 500, echoAuthorization: true }, { times: 2 });
    const failed = await connector
      .issue({ grant, identity, entitlement: spec, expiresAt: grant.expiresAt })
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(Error);
    texts.push(String(failed), JSON.stringify(failed), inspect(failed));
    const issued = await connector.issue({ grant, identity, entitlement: spec, expiresAt: grant.expiresAt });
    texts.push(JSON.stringify(issued), inspect(issued, { depth: 10 }), JSON.stringify(grant.handleData));
    f.service.inject({ kind: "status", status: 503, echoAuthorization: true });
    texts.push(String(await connector.revoke({ grant }).catch((e: unknown) => e)));
    f.service.inject({ kind: "status", status: 502, echoAuthorization: true });
    texts.push(JSON.stringify(await connector.verifyRemoved({ grant, probe: null })));
    await connector.revoke({ grant });
    texts.push(JSON.stringify(await connector.verifyRemoved({ grant, probe: null })));
    texts.push(inspect(connector, { depth: 10 }), inspect(f.connector(), { depth: 10 }));
    for (const bad of [
      { headers: { Authorization: `Bearer ${token}\r\nX-Evil: 1` } },
      { baseUrl: `http://user:${token}@127.0.0.1:1/` },
      { baseUrl: `http://127.0.0.1:1/?key=${token}` },
      { headers: `Bearer ${token}` },
    ]) {
      try {
        createHttpConnector({ id: "t", type: "http", settings: f.settings(bad) }, f.context);
        texts.push("accepted");
      } catch (error) {
        texts.push(String(error));
      }
    }
    expect(texts.filter((t) => t === "accepted")).toEqual([]);
    texts.push(...logLines);
    expect(logLines.some((line) => line.includes('"call":"add"'))).toBe(true);
    for (const text of texts) expect(text.includes(token), "a text carries the API token").toBe(false);
  });
});
