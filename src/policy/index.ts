// Public surface of the policy module: the port, the allow-list and the swappable decider as values; Cedar's decider,
// loader, policy tests and reloader as types only. Those load the Cedar engine, so callers reach them with a dynamic
// import() (compose/policies.ts, the policy and server commands) and an allow-list broker never loads it.

export type { AccessRule } from "./allow-list.js";
export { AllowListDecider } from "./allow-list.js";
export { formatApproval, parseApproval } from "./cedar/annotations.js";
export type { CedarDecider } from "./cedar/cedar-decider.js";
export type { CompiledPolicy, CompiledPolicySet, PolicyLoadError } from "./cedar/policy-set.js";
export type {
  DecisionContext,
  DecisionInput,
  PolicyAction,
  PolicyDecider,
  PolicyResource,
  PrivilegedAction,
} from "./decider.js";
export {
  ACTION_RESOURCES,
  ADMIN_GROUP,
  BROKER_ID,
  describeResource,
  POLICY_ACTIONS,
  PRIVILEGED_ACTIONS,
  SwappableDecider,
} from "./decider.js";
export type { CaseResult, PolicyTestError, PolicyTestOptions, PolicyTestReport } from "./policy-test.js";
export type { PolicyReloader, ReloaderOptions, ReloadOutcome } from "./reloader.js";
