// Public surface of the policy module: the port, the allow-list and Cedar implementations, reload and policy tests.
export { AllowListDecider } from "./allow-list.js";
export { formatApproval, parseApproval } from "./cedar/annotations.js";
export { CedarDecider } from "./cedar/cedar-decider.js";
export type { CompiledPolicy, CompiledPolicySet } from "./cedar/policy-set.js";
export { compilePolicies, loadPolicyFolder, PolicyLoadError } from "./cedar/policy-set.js";
export { CEDAR_SCHEMA } from "./cedar/schema.js";
export type { DecisionContext, DecisionInput, PolicyAction, PolicyDecider } from "./decider.js";
export { POLICY_ACTIONS, SwappableDecider } from "./decider.js";
export type { CaseResult, PolicyTestOptions, PolicyTestReport } from "./policy-test.js";
export { PolicyTestError, runPolicyTests } from "./policy-test.js";
export type { ReloaderOptions, ReloadOutcome } from "./reloader.js";
export { PolicyReloader } from "./reloader.js";
