// The contract suite every connector passes against its real target: issue works, revoke removes and proves it, nothing leaks.
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openGrant } from "../../domain/transitions.js";
import type { Grant, Identity, Millis } from "../../domain/types.js";
import type { Store } from "../../storage/store.js";
import type { Clock } from "../../support/clock.js";
import { newId } from "../../support/ids.js";
import type { Connector, EntitlementSpec, IssuedCredential, IssueResponse } from "../connector.js";
import { withDeadline } from "../deadline.js";
import { checkLifecycleReceipt, checkShortSessionReceipt } from "./lifecycle-receipt.js";

export interface ContractSubject {
  readonly connector: Connector;
  readonly identity: Identity;
  /** An entitlement the connector accepts, with `defaultDurationSeconds` below `maxDurationSeconds` so renewal has room. */
  readonly entitlement: EntitlementSpec;
  /** A fresh grant in `issuing`, its handle from `connector.prepare` (see `issuingGrant`). */
  makeGrant(): Grant;
  /** True when the target accepts the credential now (a login, an API call). Omit only when it cannot be probed. */
  readonly useCredential?: (credential: IssuedCredential) => Promise<boolean>;
  /** The secret strings in a credential; by default every field whose name says token, password, secret, key or URL. */
  readonly secretsOf?: (credential: IssuedCredential) => readonly string[];
  /** True for connectors that hand out no secret (role elevation of an account the caller already has). */
  readonly credentialHasNoSecret?: boolean;
  /** Opens a session with the credential and keeps it open; omit only when the target has no sessions. */
  readonly openSession?: (credential: IssuedCredential, grant: Grant) => Promise<OpenSession>;
  /** True when a handle names what is granted (`<login>:<role>`), shared by overlapping grants and reference-counted. */
  readonly sharedHandles?: boolean;
  /** The clock the connector's context uses, when it is not the real one (the broker's lifecycle must share it). */
  readonly clock?: Clock;
  /**
   * The store the connector's context uses, when the broker's lifecycle must share it: a connector whose removal is a
   * row in the broker's own store (a token's deny-list) has it committed by the lifecycle, through its store.
   */
  readonly store?: Store;
  /** False for connectors that make nothing in the target to list (signed tokens). */
  readonly listsAccounts?: boolean;
  cleanup(): Promise<void>;
}

/** A live session of an issued credential, for checking that removal ends it. */
export interface OpenSession {
  /** True while the session can still act in the target (a query, a command). */
  usable(): Promise<boolean>;
  close(): Promise<void>;
}

/** A grant as the lifecycle commits it before the downstream call: handle chosen, expiry durable, state `issuing`. */
export function issuingGrant(params: {
  readonly connector: Connector;
  readonly identity: Identity;
  readonly entitlement: EntitlementSpec;
  readonly now: Millis;
}): Grant {
  const { connector, identity, entitlement, now } = params;
  const id = newId("grt");
  const { handle, handleData } = connector.prepare({ grantId: id, identity, entitlement });
  const expiresAt = now + entitlement.defaultDurationSeconds * 1000;
  return openGrant({
    id,
    requestId: newId("req"),
    identityId: identity.id,
    targetId: connector.targetId,
    entitlement: entitlement.name,
    connectorType: connector.type,
    handle,
    handleData,
    createdAt: now,
    expiresAt,
    maxExpiresAt: now + entitlement.maxDurationSeconds * 1000,
    dueAt: expiresAt,
  });
}

/** The grant as committed after a successful issue: `active`, with the connector's handle data merged in. */
export function activeGrant(grant: Grant, issued: Pick<IssueResponse, "handleData">): Grant {
  return {
    ...grant,
    state: "active",
    issuedAt: grant.createdAt,
    handleData: { ...grant.handleData, ...issued.handleData },
    version: grant.version + 1,
  };
}

const SECRET_FIELD = /token|password|passwd|secret|key|url|uri/i;

function defaultSecrets(credential: IssuedCredential): string[] {
  const fields = Object.entries(credential.fields.reveal()).filter(([name]) => SECRET_FIELD.test(name));
  return fields.map(([, value]) => value).filter((value) => value.length >= 8);
}

function expectNoSecret(label: string, text: string, secrets: readonly string[]): void {
  for (const secret of secrets) {
    // Reported without the secret itself, so a failing test does not print it either.
    expect(text.includes(secret), `${label} contains a secret value`).toBe(false);
  }
}

export function describeConnectorContract(name: string, setup: () => Promise<ContractSubject>): void {
  describe(`connector contract: ${name}`, () => {
    let s: ContractSubject;
    /** The subject's connector in the shape the broker runs it (registry.ts wraps every connector so). */
    let connector: Connector;
    beforeAll(async () => {
      s = await setup();
      connector = withDeadline(s.connector);
    });
    afterAll(async () => {
      await s?.cleanup();
    });

    const secretsOf = (credential: IssuedCredential): readonly string[] => (s.secretsOf ?? defaultSecrets)(credential);

    const verify = (grant: Grant, response: IssueResponse) =>
      connector.verifyRemoved({ grant, probe: response.probe ?? null });

    async function issued(): Promise<{ grant: Grant; response: IssueResponse }> {
      const grant = s.makeGrant();
      const response = await connector.issue({
        grant,
        identity: s.identity,
        entitlement: s.entitlement,
        expiresAt: grant.expiresAt,
      });
      return { grant: activeGrant(grant, response), response };
    }

    async function works(credential: IssuedCredential): Promise<boolean | null> {
      return s.useCredential ? s.useCredential(credential) : null;
    }

    it("accepts its own entitlement", () => {
      expect(() => connector.validateEntitlement(s.entitlement)).not.toThrow();
    });

    it("prepare is deterministic per grant and returns a handle", () => {
      const grant = s.makeGrant();
      const request = { grantId: grant.id, identity: s.identity, entitlement: s.entitlement };
      const first = connector.prepare(request);
      const second = connector.prepare(request);
      expect(first.handle).toMatch(/\S/);
      expect(second).toEqual(first);
      expect(grant.handle).toBe(first.handle);
      expect(JSON.parse(JSON.stringify(first.handleData))).toEqual(first.handleData);
      if (!s.sharedHandles) expect(s.makeGrant().handle).not.toBe(first.handle);
    });

    it("issue returns a credential the target accepts", async () => {
      const { grant, response } = await issued();
      expect(Object.keys(response.credential.fields.reveal()).length).toBeGreaterThan(0);
      expect(await works(response.credential)).not.toBe(false);
      await connector.revoke({ grant });
    });

    it("verifyRemoved before revoke reports the access as present", async () => {
      const { grant, response } = await issued();
      const result = await verify(grant, response);
      expect(result.removed).toBe(false);
      expect(result.evidence.checks.some((c) => !c.passed)).toBe(true);
      await connector.revoke({ grant });
    });

    it("before revoke, the login probe itself fails verification, whatever runs beside it", async () => {
      const { grant, response } = await issued();
      try {
        if (!response.probe) return;
        const result = await verify(grant, response);
        expect(result.removed).toBe(false);
        expect(result.evidence.checks.find((c) => c.check === "login.refused")).toMatchObject({
          passed: false,
          observed: "a login with the issued credential succeeded",
        });
      } finally {
        await connector.revoke({ grant });
      }
    });

    it("revoke removes the access, verifyRemoved proves it, and the credential stops working", async () => {
      const { grant, response } = await issued();
      await connector.revoke({ grant });
      const result = await verify(grant, response);
      expect(result.removed).toBe(true);
      expect(result.evidence.checks.length).toBeGreaterThan(0);
      for (const check of result.evidence.checks) expect(check, check.check).toMatchObject({ passed: true });
      if (response.probe) expect(result.evidence.checks.map((c) => c.check)).toContain("login.refused");
      expect(await works(response.credential)).not.toBe(true);
    });

    it("verifyRemoved without the probe secret of an issued credential does not claim removal", async () => {
      const { grant, response } = await issued();
      await connector.revoke({ grant });
      if (!response.probe) return;
      const result = await connector.verifyRemoved({ grant, probe: null });
      expect(result.removed).toBe(false);
    });

    it("revoke ends the sessions the credential opened", async () => {
      if (!s.openSession) return;
      const { grant, response } = await issued();
      const session = await s.openSession(response.credential, grant);
      try {
        expect(await session.usable()).toBe(true);
        await connector.revoke({ grant });
        expect(await session.usable()).toBe(false);
        expect((await verify(grant, response)).removed).toBe(true);
      } finally {
        await session.close();
      }
    });

    it("lists the accounts it made as managed, and removeAccount removes one no grant holds", async () => {
      if (s.listsAccounts === false) return;
      const { grant, response } = await issued();
      const listed = (await connector.listAccounts()).find((a) => a.handle === grant.handle);
      expect(listed, "issued account listed").toMatchObject({ managed: true, admin: false });
      expect(await connector.removeAccount(grant.handle)).toBe(true);
      expect((await connector.listAccounts()).some((a) => a.handle === grant.handle)).toBe(false);
      expect((await verify(grant, response)).removed).toBe(true);
      expect(await connector.removeAccount(grant.handle)).toBe(false);
    });

    it("revoke is idempotent, also for a grant that was never issued", async () => {
      const { grant } = await issued();
      await connector.revoke({ grant });
      // Already gone: success, and nothing reported as removed the second time.
      expect((await connector.revoke({ grant })).removed).toStrictEqual([]);
      await expect(connector.revoke({ grant: s.makeGrant() })).resolves.toBeDefined();
    });

    it("renew keeps the access working up to the new expiry, and revoke still removes it", async () => {
      const { grant, response } = await issued();
      const expiresAt = Math.min(grant.expiresAt + 60_000, grant.maxExpiresAt);
      const renewed = await connector.renew({ grant, identity: s.identity, entitlement: s.entitlement, expiresAt });
      expect(JSON.parse(JSON.stringify(renewed.handleData))).toEqual(renewed.handleData);
      const current = renewed.credential ?? response.credential;
      expect(await works(current)).not.toBe(false);
      const after: Grant = {
        ...grant,
        expiresAt,
        renewals: 1,
        handleData: { ...grant.handleData, ...renewed.handleData },
      };
      await connector.revoke({ grant: after });
      expect(
        (await connector.verifyRemoved({ grant: after, probe: renewed.probe ?? response.probe ?? null })).removed,
      ).toBe(true);
      expect(await works(current)).not.toBe(true);
      expect(await works(response.credential)).not.toBe(true);
    });

    it("a full lifecycle through the broker leaves a receipt that matches the target", async () => {
      await checkLifecycleReceipt(s);
    });

    it("a session opened and closed between two usage looks never makes the receipt say unused", async () => {
      await checkShortSessionReceipt(s);
    });

    it("never puts a secret in evidence, handle data, printed credentials or error messages", async () => {
      const { grant, response } = await issued();
      const secrets = secretsOf(response.credential);
      expect(secrets.length > 0).toBe(!s.credentialHasNoSecret);
      expectNoSecret("issue response as JSON", JSON.stringify(response), secrets);
      expectNoSecret("issue response as inspected", inspect(response, { depth: 10 }), secrets);
      expectNoSecret("handleData", JSON.stringify(grant.handleData), secrets);
      const renewed = await connector.renew({
        grant,
        identity: s.identity,
        entitlement: s.entitlement,
        expiresAt: grant.expiresAt,
      });
      expectNoSecret("renew response", JSON.stringify(renewed), secrets);

      // Misconfiguration that carries a secret must not echo it back in the error.
      for (const secret of secrets) {
        const polluted = Object.fromEntries(Object.keys(s.entitlement.settings).map((k) => [k, [secret]]));
        const bad = { ...s.entitlement, settings: { ...polluted, injected: secret } };
        const stray = s.makeGrant();
        for (const attempt of [
          async () => connector.validateEntitlement(bad),
          () => connector.issue({ grant: stray, identity: s.identity, entitlement: bad, expiresAt: stray.expiresAt }),
        ]) {
          try {
            await attempt();
          } catch (error) {
            const text = `${String(error)} ${error instanceof Error ? error.message : ""} ${JSON.stringify(error)}`;
            expectNoSecret("thrown error", text, secrets);
          }
        }
        // Whatever a lenient connector made from the bad settings is removed again.
        await connector.revoke({ grant: stray });
      }

      expectNoSecret("revoke response", JSON.stringify(await connector.revoke({ grant })), secrets);
      const result = await verify(grant, response);
      expectNoSecret("removal evidence", JSON.stringify(result), secrets);
    });
  });
}
