// The policy decider (Cedar for a policy folder, else the allow-list) and the reloader that swaps in edited policies.
import type { Config } from "../config/index.js";
import type { LifecycleDeps, LifecycleMetrics } from "../lifecycle/index.js";
import { recheckActiveGrants } from "../lifecycle/index.js";
import type { PolicyDecider, PolicyReloader } from "../policy/index.js";
import { AllowListDecider, SwappableDecider } from "../policy/index.js";
import type { StartContext } from "./start-context.js";

/** The Cedar decider for a policy folder; the engine is loaded on first use, so an allow-list broker never loads it. */
async function loadCedarDecider(dir: string): Promise<PolicyDecider> {
  const [{ CedarDecider }, { loadPolicyFolder }] = await Promise.all([
    import("../policy/cedar/cedar-decider.js"),
    import("../policy/cedar/policy-set.js"),
  ]);
  return new CedarDecider(loadPolicyFolder(dir));
}

/** Cedar policies when a folder is configured, else the allow-list; policies that do not validate throw here. */
export async function loadDecider(config: Config): Promise<SwappableDecider> {
  const initialDecider: PolicyDecider = config.policies
    ? await loadCedarDecider(config.policies.dir)
    : new AllowListDecider(config.access);
  return new SwappableDecider(initialDecider);
}

/** Reloads the policy folder into the decider and re-checks active grants after; null when the allow-list decides. */
export async function buildPolicyReloader(
  ctx: StartContext,
  decider: SwappableDecider,
  deps: LifecycleDeps,
  metrics: LifecycleMetrics,
): Promise<PolicyReloader | null> {
  const { store, clock, logger } = ctx;
  const policyConfig = ctx.config.policies;
  // Cedar (a large WebAssembly module) is loaded only when policies are configured.
  const { PolicyReloader } = policyConfig ? await import("../policy/reloader.js") : { PolicyReloader: null };
  return policyConfig && PolicyReloader
    ? new PolicyReloader({
        dir: policyConfig.dir,
        decider,
        store,
        clock,
        logger,
        observe: (outcome) => metrics.policyReload(outcome),
        onApplied: async () => {
          const result = await recheckActiveGrants(deps, policyConfig.onChange);
          if (result.noLongerPermitted > 0)
            logger.warn(result, "active grants no longer permitted by the new policies");
        },
      })
    : null;
}
