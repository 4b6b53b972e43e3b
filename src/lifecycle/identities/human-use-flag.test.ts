// Human use of a non-human identity: a workload token presented from a browser or an HTTP tool reaches policy as
// `context.client` and `context.authMethod`, so a @flag policy flags the request (audited request.flagged) without
// changing what is granted, and a forbid refuses it.
import { afterEach, describe, expect, it } from "vitest";
import { CedarDecider } from "../../policy/cedar/cedar-decider.js";
import { compilePolicies } from "../../policy/cedar/policy-set.js";
import { requestAccess } from "../request/request-access.js";
import type { RequestMeta } from "../shared/deps.js";
import { type Harness, makeHarness } from "../testing/harness.js";

const FLAG = `
@id("read") permit (principal in Group::"ci", action == Action::"request", resource == Entitlement::"db/read");
@id("flag-workload-token-from-a-person") @flag("human_use_of_nhi")
permit (principal, action == Action::"request", resource in Target::"db")
when {
  principal.kind != "human" &&
  context.authMethod != "" && context.authMethod != "api_key" &&
  (context.client.kind == "browser" || context.client.kind == "tool")
};
`;
const FORBID = `
@id("read") permit (principal in Group::"ci", action == Action::"request", resource == Entitlement::"db/read");
@id("no-workload-token-from-a-tool")
forbid (principal, action, resource) when { principal.kind != "human" && context.client.kind == "tool" };
`;

const oidc = (kind: "tool" | "browser" | "api"): RequestMeta => ({
  sourceAddress: "127.0.0.1",
  authentication: {
    method: "oidc",
    credentialId: "jti-1",
    claims: { sub: "repo:org/app:ref:refs/heads/main" },
    singleUse: null,
  },
  client: { kind, interactive: kind === "browser" },
});

describe("human use of a non-human identity", () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it("a workload token from curl or a browser is flagged; from the workload's own client it is not", async () => {
    h = await makeHarness({ decider: new CedarDecider(compilePolicies("test", [["p.cedar", FLAG]])) });
    for (const kind of ["tool", "browser", "api"] as const) {
      const result = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: "5m" }, oidc(kind));
      expect(result.outcome).toBe("issued");
    }
    const flagged = (await h.store.listAudit(0, 1000)).filter((e) => e.code === "request.flagged");
    expect(flagged.map((e) => e.data.client)).toEqual([
      { kind: "tool", interactive: false },
      { kind: "browser", interactive: true },
    ]);
    expect(flagged[0]?.data.flags).toEqual(["human_use_of_nhi"]);
  });

  it("a forbid on the signal refuses the request", async () => {
    h = await makeHarness({ decider: new CedarDecider(compilePolicies("test", [["p.cedar", FORBID]])) });
    const denied = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: "5m" }, oidc("tool"));
    expect(denied.outcome).toBe("denied");
    expect(denied.request.decision?.determiningPolicies).toEqual(["no-workload-token-from-a-tool"]);
    const allowed = await requestAccess(h.deps, h.ci, { entitlement: "db/read", duration: "5m" }, oidc("api"));
    expect(allowed.outcome).toBe("issued");
  });
});
