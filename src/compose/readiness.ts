// Readiness: the store answers and takes writes, the signing keys are loaded, each target's connector is healthy.
import type { Connector } from "../connectors/index.js";
import { draft, systemActor } from "../lifecycle/index.js";
import { SingleFlight } from "../support/index.js";
import type { TokenAuthority } from "../tokens/index.js";
import type { StartContext } from "./start-context.js";

export type Readiness = () => Promise<{ ready: boolean; checks: Record<string, boolean> }>;

/** What `/readyz` asks; every check must pass. */
export function readinessCheck(
  ctx: StartContext,
  tokens: TokenAuthority,
  connectors: ReadonlyMap<string, Connector>,
): Readiness {
  const { store, clock } = ctx;
  // After a failed commit the broker is not ready until a commit lands. With no traffic (the load balancer moved it
  // away) nothing else would write: readiness itself tries one, which leaves the evidence of the recovery.
  const writeProbe = new SingleFlight(async () =>
    store
      .apply({ writes: [], audit: [draft("broker.writes_resumed", clock.now(), systemActor("broker"), {}, {})] })
      .then(
        () => true,
        () => false,
      ),
  );
  return async () => {
    const storeHealthy = await store.ping().catch(() => false);
    const checks: Record<string, boolean> = {
      store: storeHealthy,
      storeWritable: storeHealthy && (store.writable || (await writeProbe.run())),
      tokenKeys: tokens.ready,
    };
    for (const [id, connector] of connectors) checks[`target:${id}`] = await connector.healthy().catch(() => false);
    return { ready: Object.values(checks).every(Boolean), checks };
  };
}
