// Single use at the request stage, on the two-step issue path (a target outside the broker): a replayed token reaches
// neither policy's record nor the target; a key proof sent to a target that cannot bind credentials is refused.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EphemeraError } from "../../support/errors.js";
import { requestAccess } from "../request/request-access.js";
import { type Harness, makeHarness } from "../testing/harness.js";
import type { RequestMeta } from "./deps.js";
import { SINGLE_USE_NAMESPACE } from "./single-use.js";

describe("single use at the request stage", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const meta = (key: string): RequestMeta => ({
    sourceAddress: "127.0.0.1",
    authentication: {
      method: "oidc",
      credentialId: `jti:${key}`,
      claims: { repository: "acme/deploy" },
      singleUse: { key: `oidc:ci:jti:${key}`, until: h.clock.now() + 300_000 },
    },
  });

  it("issues once: the replay is refused 401 token_replayed before the target is called, and audited", async () => {
    const first = await requestAccess(h.deps, h.ci, { entitlement: "db/read" }, meta("run-1"));
    expect(first.outcome).toBe("issued");
    const made = h.target.stateAtIssue.length;
    expect(made).toBe(1);
    const error = await requestAccess(h.deps, h.ci, { entitlement: "db/read" }, meta("run-1")).catch((e) => e);
    expect(error).toBeInstanceOf(EphemeraError);
    expect(error).toMatchObject({ code: "token_replayed", status: 401 });
    expect(h.target.stateAtIssue.length).toBe(made);
    expect(await h.store.getState(SINGLE_USE_NAMESPACE, "oidc:ci:jti:run-1")).toMatchObject({
      value: { requestId: first.request.id, what: "oidc" },
    });
    const codes = (await h.store.listAudit(0, 100)).map((e) => e.code);
    expect(codes.filter((c) => c === "grant.issuing")).toHaveLength(1);
    expect(codes).toContain("auth.replayed");
    // Another token issues as usual.
    expect((await requestAccess(h.deps, h.ci, { entitlement: "db/read" }, meta("run-2"))).outcome).toBe("issued");
  });

  it("refuses a DPoP proof for a target that cannot bind its credentials, writing nothing but the audit event", async () => {
    const error = await requestAccess(
      h.deps,
      h.ci,
      { entitlement: "db/read" },
      { ...meta("run-3"), proof: { binding: { jkt: "j", publicJwk: {} }, replayKey: "j:1", until: h.clock.now() + 1 } },
    ).catch((e) => e);
    expect(error).toMatchObject({ code: "invalid_request", extensions: { field: "dpop" } });
    expect(await h.store.listGrants({ limit: 10 })).toEqual([]);
    expect(await h.store.getState(SINGLE_USE_NAMESPACE, "oidc:ci:jti:run-3")).toBeNull();
  });
});
