// Shared fixtures of the approval tests: Cedar policies with an auto-approved read, a write needing two SREs, break-glass,
// and the approvers that exercise separation of duties.
import type { EntitlementSpec } from "../../connectors/connector.js";
import type { Identity } from "../../domain/types.js";

export const POLICIES = `
@id("read-auto") @approval("auto") @max_duration("30m")
permit (principal in Group::"ci", action in [Action::"request", Action::"renew"], resource == Entitlement::"db/read");
@id("write-2-sre") @approval("2 from Group::\\"sre\\"") @max_duration("20m") @owner_may_approve("false")
permit (principal in Group::"ci", action in [Action::"request", Action::"renew"], resource == Entitlement::"db/write");
@id("sre-approve")
permit (principal in Group::"sre", action == Action::"approve", resource in Target::"db");
@id("break-glass") @max_duration("10m")
permit (principal in Group::"ci", action == Action::"break_glass", resource == Entitlement::"db/write") when { context.ticket != "" };
`;

export const WRITE: EntitlementSpec = {
  name: "db/write",
  targetId: "db",
  defaultDurationSeconds: 300,
  maxDurationSeconds: 3600,
  risk: "high",
  settings: {},
};

const human = (id: string, groups: string[]): Identity => ({
  id,
  kind: "human",
  owner: null,
  groups,
  attributes: {},
  status: "active",
  admin: false,
});
export const APPROVERS = {
  bob: human("bob", ["sre"]),
  carol: human("carol", ["sre"]),
  /** In sre and in team-test, the owner team of ci-deploy. */
  dave: human("dave", ["sre", "team-test"]),
  /** Requests (ci) and approves (sre). */
  eve: human("eve", ["ci", "sre"]),
};
