// Public surface of the policy module.
export { AllowListDecider } from "./allow-list.js";
export type { DecisionInput, PolicyAction, PolicyDecider } from "./decider.js";
