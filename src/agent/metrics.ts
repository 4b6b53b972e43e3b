// The agent's Prometheus metrics, on a registry of its own; labels are credential names from the config, never values.
import { Counter, Gauge, Registry } from "prom-client";

export class AgentMetrics {
  readonly registry = new Registry();
  readonly held = new Gauge({
    name: "ephemera_agent_credentials_held",
    help: "Credentials the agent holds now (current grants; grants in their grace overlap are not counted)",
    registers: [this.registry],
  });
  readonly expiry = new Gauge({
    name: "ephemera_agent_credential_expiry_seconds",
    help: "Seconds until the current grant of each credential expires unless renewed",
    labelNames: ["credential"],
    registers: [this.registry],
  });
  readonly renewals = this.#counter("renewals_total", "Grants renewed");
  readonly rotations = this.#counter(
    "rotations_total",
    "New grants that replaced a grant (renewal refused or at its maximum)",
  );
  readonly failures = this.#counter(
    "failures_total",
    "Failed attempts, by operation (issue, renew, rotate, complete, sink, notify)",
    "operation",
  );
  readonly completions = this.#counter(
    "grants_completed_total",
    "Grants the agent completed, by whether the broker verified the removal",
    "verified",
  );

  /** A counter on this registry, labelled by credential (and `extra`). */
  #counter<Extra extends string = never>(name: string, help: string, ...extra: Extra[]): Counter<"credential" | Extra> {
    return new Counter({
      name: `ephemera_agent_${name}`,
      help,
      labelNames: ["credential", ...extra],
      registers: [this.registry],
    });
  }
}
