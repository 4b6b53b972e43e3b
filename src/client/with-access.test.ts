// withAccess: the grant is completed whether the task returns or throws; an already-ended grant is not an error.
import { afterEach, describe, expect, it } from "vitest";
import { EphemeraClient } from "./client.js";
import { EphemeraApiError } from "./errors.js";
import {
  type FakeBroker,
  GOOD_KEY,
  type ImitationState,
  imitateApi,
  problem,
  startFakeBroker,
} from "./testing/fake-broker.js";
import { type Credential, completeGrant, withAccess } from "./with-access.js";

let broker: FakeBroker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

async function setup(): Promise<{ client: EphemeraClient; state: ImitationState; broker: FakeBroker }> {
  const api = imitateApi();
  broker = await startFakeBroker(api.handler);
  return { client: new EphemeraClient({ url: broker.url, token: GOOD_KEY }), state: api.state, broker };
}

const completions = (b: FakeBroker) => b.requests.filter((r) => r.url.endsWith("/complete")).length;

describe("withAccess", () => {
  it("childEnv() gives a process the credential and nothing of the broker's", async () => {
    const { client } = await setup();
    const caller = {
      PATH: "/bin",
      HOME: "/home/app",
      EPHEMERA_TOKEN: GOOD_KEY,
      EPHEMERA_APPROVER_TOKEN: "approver",
      RENAMED: GOOD_KEY,
      OTHER: "kept",
    };
    const [full, clean] = await withAccess(
      "demo-api/read",
      (credential) => [credential.childEnv({ env: caller }), credential.childEnv({ env: caller, clean: true })],
      { client },
    );
    expect(full).toEqual({
      PATH: "/bin",
      HOME: "/home/app",
      OTHER: "kept",
      EPHEMERA_ACCESS_TOKEN: "tok-grant1",
      EPHEMERA_GRANT_ID: "grant1",
      EPHEMERA_EXPIRES_AT: "2030-01-01T00:05:00.000Z",
    });
    expect(clean).toEqual({
      PATH: "/bin",
      HOME: "/home/app",
      EPHEMERA_ACCESS_TOKEN: "tok-grant1",
      EPHEMERA_GRANT_ID: "grant1",
      EPHEMERA_EXPIRES_AT: "2030-01-01T00:05:00.000Z",
    });
  });

  it("passes the credential, returns the task's result and completes the grant", async () => {
    const { client, state, broker } = await setup();
    let seen: Credential | undefined;
    const result = await withAccess(
      "demo-api/read",
      async (credential) => {
        seen = credential;
        expect(state.grants.get(credential.grantId)?.state).toBe("active");
        return 42;
      },
      { client, duration: "5m", justification: "test", ticket: "T-1", intent: "read" },
    );
    expect(result).toBe(42);
    expect(seen).toMatchObject({
      grantId: "grant1",
      expiresAt: "2030-01-01T00:05:00.000Z",
      fields: { token: "tok-grant1", tokenType: "Bearer", expiresAt: "2030-01-01T00:05:00.000Z" },
      env: { EPHEMERA_ACCESS_TOKEN: "tok-grant1" },
    });
    expect(state.grants.get("grant1")?.endReason).toBe("completed");
    expect(Object.keys(seen ?? {}).sort()).toEqual(["childEnv", "env", "expiresAt", "fields", "grantId"]);
    expect(JSON.parse(broker.requests[0]!.body)).toEqual({
      entitlement: "demo-api/read",
      duration: "5m",
      justification: "test",
      ticket: "T-1",
      intent: "read",
    });
  });

  it("completes the grant when the task throws, and rethrows the task's error", async () => {
    const { client, state } = await setup();
    const boom = new Error("task failed");
    await expect(
      withAccess(
        "demo-api/read",
        () => {
          throw boom;
        },
        { client },
      ),
    ).rejects.toBe(boom);
    expect(state.grants.get("grant1")).toMatchObject({ state: "verified", endReason: "completed" });
  });

  it("does not call the task when the request is denied", async () => {
    const { client, broker } = await setup();
    let called = false;
    await expect(
      withAccess(
        "demo-api/write",
        () => {
          called = true;
        },
        { client },
      ),
    ).rejects.toMatchObject({ code: "denied", status: 403 });
    expect(called).toBe(false);
    expect(completions(broker)).toBe(0);
  });

  it("treats a grant that already ended (409 invalid_state) as done", async () => {
    const { client, state } = await setup();
    const result = await withAccess(
      "demo-api/read",
      async ({ grantId }) => {
        await client.revoke(grantId, "meanwhile");
        return "ok";
      },
      { client },
    );
    expect(result).toBe("ok");
    expect(state.grants.get("grant1")?.endReason).toBe("revoked");
  });

  it("throws a completion failure when the task succeeded", async () => {
    const { client, state } = await setup();
    state.completeReply = problem(502, "downstream_unavailable", "target did not answer");
    await expect(withAccess("demo-api/read", () => "ok", { client })).rejects.toMatchObject({
      code: "downstream_unavailable",
    });
  });

  it("keeps the task's error when completion also fails, and reports the completion failure", async () => {
    const { client, state } = await setup();
    state.completeReply = problem(500, "internal", "internal error");
    const reported: unknown[] = [];
    const boom = new Error("task failed");
    await expect(
      withAccess(
        "demo-api/read",
        () => {
          throw boom;
        },
        { client, onCompleteError: (error, grantId) => reported.push(grantId, error) },
      ),
    ).rejects.toBe(boom);
    expect(reported[0]).toBe("grant1");
    expect(reported[1]).toBeInstanceOf(EphemeraApiError);
  });
});

describe("completeGrant", () => {
  it("retries while the broker is not ready, then succeeds", async () => {
    const api = imitateApi();
    let refusals = 1;
    broker = await startFakeBroker((request) => {
      if (request.url.endsWith("/complete") && refusals-- > 0) return problem(503, "unavailable", "not ready");
      return api.handler(request);
    });
    const client = new EphemeraClient({ url: broker.url, token: GOOD_KEY });
    const { grant } = await client.requestNow({ entitlement: "demo-api/read" });
    const ended = await completeGrant(client, grant.id, 3, 10);
    expect(ended?.removed).toBe(true);
    expect(completions(broker)).toBe(2);
  });

  it("does not retry a refusal", async () => {
    broker = await startFakeBroker(() => problem(403, "not_owner", "not yours"));
    const client = new EphemeraClient({ url: broker.url, token: GOOD_KEY });
    await expect(completeGrant(client, "g1", 3, 10)).rejects.toMatchObject({ code: "not_owner" });
    expect(broker.requests).toHaveLength(1);
  });
});
